/* A plain-text answer for the agent's HTTP endpoints (logs, exec), formatted like printf.
 * A 426 also says which upgrade is wanted (WebSocket, version 13). */
#ifndef KUBEC_NODEAGENT_MHD_TEXT_H
#define KUBEC_NODEAGENT_MHD_TEXT_H

#include <microhttpd.h>

enum MHD_Result kc_mhd_text(struct MHD_Connection *conn, unsigned code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
