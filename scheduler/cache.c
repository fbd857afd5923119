/* Scheduler cache. Nodes live in an array (the snapshot order) and a name index; pods
 * placed on nodes are tracked by key with the node they count on and whether they are
 * only assumed. A pod may be known before its node (informers race): it is kept and
 * counted when the node arrives. */
#include "scheduler/cache.h"

#include "lib/jsonx.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct kc_sched_cache {
    pthread_mutex_t mu;
    struct kc_sched_snapshot snap; /* nodes array */
    size_t cap;
    json_t *node_index; /* name -> index in snap.nodes (integer) */
    json_t *pods;       /* key -> {"node": name, "pod": obj, "assumed": bool} */
    size_t assumed;
};

/* Generations are unique across the cache (not per node), so a node freed and another
 * allocated at the same address never look the same to the algorithm's per-node cache. */
static uint64_t next_generation;

static void touch(struct kc_sched_node *n)
{
    n->generation = __atomic_add_fetch(&next_generation, 1, __ATOMIC_SEQ_CST);
}

struct kc_sched_cache *kc_sched_cache_new(void)
{
    struct kc_sched_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    pthread_mutex_init(&c->mu, NULL);
    c->node_index = json_object();
    c->pods = json_object();
    return c;
}

static void node_free(struct kc_sched_node *n)
{
    free(n->name);
    json_decref((json_t *)n->node);
    json_decref(n->pods);
    json_decref(n->host_ports);
    free(n);
}

void kc_sched_cache_free(struct kc_sched_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->snap.n; i++)
        node_free(c->snap.nodes[i]);
    free(c->snap.nodes);
    json_decref(c->node_index);
    json_decref(c->pods);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static struct kc_sched_node *find_node(struct kc_sched_cache *c, const char *name)
{
    json_t *i = json_object_get(c->node_index, name);
    return i ? c->snap.nodes[json_integer_value(i)] : NULL;
}

static void add_ports(struct kc_sched_node *n, const json_t *pod)
{
    size_t i, j;
    json_t *ctr, *port;
    json_array_foreach (kc_json_path(pod, "spec.containers"), i, ctr) {
        json_array_foreach (json_object_get(ctr, "ports"), j, port) {
            long long hp = kc_json_int(port, "hostPort", 0);
            if (hp <= 0)
                continue;
            const char *ip = kc_json_str(port, "hostIP");
            const char *proto = kc_json_str(port, "protocol");
            json_array_append_new(n->host_ports,
                                  json_pack("{s:s,s:s,s:I}", "ip", ip && *ip ? ip : "0.0.0.0",
                                            "protocol", proto && *proto ? proto : "TCP", "port",
                                            (json_int_t)hp));
        }
    }
}

static void add_res(struct kc_sched_resources *a, const struct kc_sched_resources *b, int sign)
{
    a->milli_cpu += sign * b->milli_cpu;
    a->memory += sign * b->memory;
    a->ephemeral_storage += sign * b->ephemeral_storage;
    a->pods += sign;
}

/* Counts pod on n. Lock held. */
static void node_add_pod(struct kc_sched_node *n, const json_t *pod)
{
    struct kc_sched_resources req, nz;
    kc_sched_pod_requests(pod, &req, &nz);
    add_res(&n->requested, &req, 1);
    add_res(&n->nonzero, &nz, 1);
    json_array_append(n->pods, (json_t *)pod);
    add_ports(n, pod);
    touch(n);
}

/* Uncounts pod (matched by identity in n->pods). Lock held. */
static void node_remove_pod(struct kc_sched_node *n, const json_t *pod)
{
    size_t i;
    json_t *p;
    bool found = false;
    json_array_foreach (n->pods, i, p) {
        if (p == pod) {
            json_array_remove(n->pods, i);
            found = true;
            break;
        }
    }
    if (!found)
        return;
    struct kc_sched_resources req, nz;
    kc_sched_pod_requests(pod, &req, &nz);
    add_res(&n->requested, &req, -1);
    add_res(&n->nonzero, &nz, -1);
    json_array_clear(n->host_ports);
    json_array_foreach (n->pods, i, p)
        add_ports(n, p);
    touch(n);
}

void kc_sched_cache_set_node(struct kc_sched_cache *c, const json_t *node)
{
    const char *name = kc_json_str(node, "metadata.name");
    if (!name)
        return;
    pthread_mutex_lock(&c->mu);
    struct kc_sched_node *n = find_node(c, name);
    if (n) {
        json_decref((json_t *)n->node);
        n->node = json_incref((json_t *)node);
        kc_sched_node_allocatable(node, &n->allocatable);
        touch(n);
        goto out;
    }
    n = calloc(1, sizeof *n);
    if (!n)
        goto out;
    if (c->snap.n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 64;
        struct kc_sched_node **nn = realloc(c->snap.nodes, ncap * sizeof *nn);
        if (!nn) {
            free(n);
            goto out;
        }
        c->snap.nodes = nn;
        c->cap = ncap;
    }
    n->name = strdup(name);
    n->node = json_incref((json_t *)node);
    n->pods = json_array();
    n->host_ports = json_array();
    kc_sched_node_allocatable(node, &n->allocatable);
    touch(n);
    json_object_set_new(c->node_index, name, json_integer((json_int_t)c->snap.n));
    c->snap.nodes[c->snap.n++] = n;
    /* Pods seen before their node count now. */
    const char *key;
    json_t *e;
    json_object_foreach (c->pods, key, e) {
        const char *pn = json_string_value(json_object_get(e, "node"));
        if (pn && strcmp(pn, name) == 0)
            node_add_pod(n, json_object_get(e, "pod"));
    }
out:
    pthread_mutex_unlock(&c->mu);
}

void kc_sched_cache_remove_node(struct kc_sched_cache *c, const char *name)
{
    pthread_mutex_lock(&c->mu);
    json_t *idx = json_object_get(c->node_index, name);
    if (idx) {
        size_t i = (size_t)json_integer_value(idx);
        node_free(c->snap.nodes[i]);
        json_object_del(c->node_index, name);
        /* the last node takes the hole */
        c->snap.n--;
        if (i != c->snap.n) {
            c->snap.nodes[i] = c->snap.nodes[c->snap.n];
            json_object_set_new(c->node_index, c->snap.nodes[i]->name, json_integer((json_int_t)i));
        }
    }
    pthread_mutex_unlock(&c->mu);
}

/* Removes the pod entry of key from its node and the index. Lock held. */
static void drop_pod(struct kc_sched_cache *c, const char *key)
{
    json_t *e = json_object_get(c->pods, key);
    if (!e)
        return;
    struct kc_sched_node *n = find_node(c, json_string_value(json_object_get(e, "node")));
    if (n)
        node_remove_pod(n, json_object_get(e, "pod"));
    if (json_is_true(json_object_get(e, "assumed")))
        c->assumed--;
    json_object_del(c->pods, key);
}

static void put_pod(struct kc_sched_cache *c, const char *key, json_t *pod, bool assumed)
{
    const char *node = kc_json_str(pod, "spec.nodeName");
    json_object_set_new(c->pods, key,
                        json_pack("{s:s,s:O,s:b}", "node", node, "pod", pod, "assumed", assumed));
    if (assumed)
        c->assumed++;
    struct kc_sched_node *n = find_node(c, node);
    if (n)
        node_add_pod(n, pod);
}

static void pod_key(const json_t *pod, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", kc_json_str(pod, "metadata.namespace") ?: "",
             kc_json_str(pod, "metadata.name") ?: "");
}

void kc_sched_cache_set_pod(struct kc_sched_cache *c, const json_t *pod)
{
    char key[512];
    const char *node = kc_json_str(pod, "spec.nodeName");
    if (!node || !*node)
        return;
    pod_key(pod, key, sizeof key);
    pthread_mutex_lock(&c->mu);
    drop_pod(c, key);
    /* Finished pods use nothing. */
    const char *phase = kc_json_str(pod, "status.phase");
    if (!phase || (strcmp(phase, "Succeeded") != 0 && strcmp(phase, "Failed") != 0))
        put_pod(c, key, (json_t *)pod, false);
    pthread_mutex_unlock(&c->mu);
}

void kc_sched_cache_remove_pod(struct kc_sched_cache *c, const char *key)
{
    pthread_mutex_lock(&c->mu);
    drop_pod(c, key);
    pthread_mutex_unlock(&c->mu);
}

void kc_sched_cache_assume(struct kc_sched_cache *c, json_t *pod)
{
    char key[512];
    pod_key(pod, key, sizeof key);
    pthread_mutex_lock(&c->mu);
    drop_pod(c, key);
    put_pod(c, key, pod, true);
    pthread_mutex_unlock(&c->mu);
    json_decref(pod);
}

void kc_sched_cache_forget(struct kc_sched_cache *c, const char *key)
{
    pthread_mutex_lock(&c->mu);
    json_t *e = json_object_get(c->pods, key);
    if (e && json_is_true(json_object_get(e, "assumed")))
        drop_pod(c, key);
    pthread_mutex_unlock(&c->mu);
}

const struct kc_sched_snapshot *kc_sched_cache_lock(struct kc_sched_cache *c)
{
    pthread_mutex_lock(&c->mu);
    return &c->snap;
}

void kc_sched_cache_unlock(struct kc_sched_cache *c)
{
    pthread_mutex_unlock(&c->mu);
}

size_t kc_sched_cache_nodes(struct kc_sched_cache *c)
{
    pthread_mutex_lock(&c->mu);
    size_t n = c->snap.n;
    pthread_mutex_unlock(&c->mu);
    return n;
}

size_t kc_sched_cache_assumed(struct kc_sched_cache *c)
{
    pthread_mutex_lock(&c->mu);
    size_t n = c->assumed;
    pthread_mutex_unlock(&c->mu);
    return n;
}
