/* The scheduler component: informers on pods and nodes feed the cache and the queue;
 * one scheduling thread decides, binder threads write pods/binding. */
#ifndef KUBEC_SCHEDULER_SCHEDULER_H
#define KUBEC_SCHEDULER_SCHEDULER_H

#include "client/client.h"

#include <stdio.h>

struct kc_scheduler;

struct kc_scheduler_options {
    const char *scheduler_name; /* "default-scheduler" */
    int binders;                /* concurrent bind calls (16) */
};

struct kc_scheduler *kc_scheduler_new(struct kc_client *c, const struct kc_scheduler_options *o);
/* Starts the informers, waits for their first lists, starts the threads. */
int kc_scheduler_start(struct kc_scheduler *s);
/* Stops the threads (the client must be shut down first so calls end). */
void kc_scheduler_stop(struct kc_scheduler *s);
/* Prometheus text: attempts, attempt latency, queue sizes, cache sizes. */
void kc_scheduler_write_metrics(struct kc_scheduler *s, FILE *f);

int kc_scheduler_main(int argc, char **argv);

#endif
