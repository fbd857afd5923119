/* HTTP reason phrases, as Go's net/http writes them (what kube-apiserver sends). */
#ifndef KUBEC_LIB_HTTPSTATUS_H
#define KUBEC_LIB_HTTPSTATUS_H

/* The reason phrase of code; "Status" for one without a phrase here. Static storage. */
const char *kc_http_reason(int code);

#endif
