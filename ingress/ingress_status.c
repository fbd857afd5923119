/* The status writer: every served Ingress gets status.loadBalancer.ingress = [{ip}] (with
 * ports when we do not listen on 80) through the status subresource, when it differs;
 * Ingresses that carry our address but are no longer served get it cleared. Runs on its
 * own thread (API calls block), woken by informer events and every few seconds. */
#include "ingress/ingress.h"
#include "lib/jsonx.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define RESYNC_MS 5000

/* The loadBalancer.ingress we publish. New. */
static json_t *desired(struct ing_ctx *ctx)
{
    json_t *e = json_pack("{s:s}", "ip", ctx->publish_ip);
    if (e && ctx->publish_port && ctx->publish_port != 80)
        json_object_set_new(e, "ports",
                            json_pack("[{s:i,s:s}]", "port", ctx->publish_port, "protocol", "TCP"));
    return json_pack("[o]", e);
}

static void write_status(struct ing_ctx *ctx, const json_t *ing, json_t *value)
{
    const char *ns = json_string_value(kc_json_path(ing, "metadata.namespace"));
    const char *name = json_string_value(kc_json_path(ing, "metadata.name"));
    /* value null deletes the list (JSON merge patch) */
    json_t *patch = json_pack("{s:{s:{s:O}}}", "status", "loadBalancer", "ingress", value);
    json_t *out = NULL;
    int rc = kc_patch(ctx->client, &KC_GVR_INGRESSES, ns, name, "status",
                      "application/merge-patch+json", patch, &out);
    if (rc != 200 && rc != 404)
        fprintf(stderr, "ingress: status of %s/%s: HTTP %d\n", ns, name, rc);
    json_decref(out);
    json_decref(patch);
}

static bool ours(const json_t *cur, const char *ip)
{
    size_t i;
    json_t *e;
    json_array_foreach (cur, i, e) {
        const char *v = json_string_value(json_object_get(e, "ip"));
        if (v && strcmp(v, ip) == 0)
            return true;
    }
    return false;
}

static void sync_status(struct ing_ctx *ctx)
{
    json_t *want = desired(ctx);                          /* new */
    json_t *served = ing_served(ctx);                     /* new */
    json_t *all = kc_informer_list(ctx->ingresses, NULL); /* new */
    if (!want || !served || !all)
        goto out;
    size_t i, j;
    json_t *ing, *s;
    json_array_foreach (all, i, ing) {
        /* by key: the two lists were taken at different moments */
        bool is_served = false;
        char k1[512], k2[512];
        kc_object_key(k1, sizeof k1, ing);
        json_array_foreach (served, j, s)
            if (strcmp(kc_object_key(k2, sizeof k2, s), k1) == 0)
                is_served = true;
        json_t *cur = kc_json_path(ing, "status.loadBalancer.ingress");
        if (is_served && !json_equal(cur, want))
            write_status(ctx, ing, want);
        else if (!is_served && ours(cur, ctx->publish_ip))
            write_status(ctx, ing, json_null());
    }
out:
    json_decref(all);
    json_decref(served);
    json_decref(want);
}

static void *status_main(void *arg)
{
    struct ing_ctx *ctx = arg;
    pthread_mutex_lock(&ctx->mu);
    while (!ctx->stopping) {
        ctx->status_dirty = false;
        pthread_mutex_unlock(&ctx->mu);
        sync_status(ctx);
        pthread_mutex_lock(&ctx->mu);
        if (ctx->stopping || ctx->status_dirty)
            continue;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += RESYNC_MS / 1000;
        pthread_cond_timedwait(&ctx->cv, &ctx->mu, &ts);
    }
    pthread_mutex_unlock(&ctx->mu);
    return NULL;
}

int ing_status_start(struct ing_ctx *ctx)
{
    if (ctx->status_started)
        return 0;
    ctx->stopping = false; /* started again after a lost and regained lease */
    if (pthread_create(&ctx->status_thread, NULL, status_main, ctx) != 0)
        return -1;
    ctx->status_started = true;
    return 0;
}

void ing_status_wake(struct ing_ctx *ctx)
{
    pthread_mutex_lock(&ctx->mu);
    ctx->status_dirty = true;
    pthread_cond_signal(&ctx->cv);
    pthread_mutex_unlock(&ctx->mu);
}

void ing_status_stop(struct ing_ctx *ctx)
{
    if (!ctx->status_started)
        return;
    pthread_mutex_lock(&ctx->mu);
    ctx->stopping = true;
    pthread_cond_signal(&ctx->cv);
    pthread_mutex_unlock(&ctx->mu);
    pthread_join(ctx->status_thread, NULL);
    ctx->status_started = false;
}
