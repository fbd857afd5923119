/* `kubec image`: build the demo image, push a layout's image to a registry, pull into a
 * node's image store (the same code path the node agent uses). */
#include "client/component.h"
#include "nodeagent/image_internal.h"
#include "nodeagent/image_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int kc_image_main(int argc, char **argv);

static void usage(FILE *f)
{
    fprintf(f, "usage: kubec image <command> [flags]\n\n"
               "commands:\n"
               "  build-demo --layout DIR [--name NAME] [--tag TAG] [--busybox PATH] [--nc PATH]\n"
               "      writes the demo image (busybox-static and /bin/serve-hostname, which serves\n"
               "      the pod name on port 5005) into the OCI layout DIR; NAME defaults to\n"
               "      jweissig/alpine-k8s-pod-lb-demo, TAG to latest, PATH to /bin/busybox.\n"
               "      /bin/nc (with UDP) is --nc, by default kubec-demo-nc next to kubec (when\n"
               "      missing, a warning and busybox's nc, without UDP); --nc= keeps busybox's.\n"
               "      With it, the image's busybox has its nc applet renamed nb (its sh would\n"
               "      run the applet for `nc` instead of /bin/nc), and /bin/nc runs nb for TCP.\n"
               "      The same files give the same bytes, hence the same digest.\n"
               "  push --layout DIR --ref NAME:TAG --registry HOST:PORT [--verbose]\n"
               "      pushes the image the layout names NAME:TAG (or just TAG) to the registry,\n"
               "      as repository NAME normalised (busybox is library/busybox).\n"
               "  pull --store DIR [--registry HOST:PORT] [--layouts DIR] [--policy P] IMAGE\n"
               "      makes IMAGE available in the image store DIR as the node agent does\n"
               "      (P: Always, IfNotPresent, Never; default by tag) and prints its reference,\n"
               "      image ID, config digest and rootfs. Exit status 1 ErrImagePull,\n"
               "      3 ErrImageNeverPull, 4 InvalidImageName.\n");
}

/* Reads flags into vals (by the names in names[]) and at most one positional argument.
 * 0, 1 for --help, -1 on a bad flag (printed). */
static int parse(const char *prog, int argc, char **argv, const char *const *names,
                 const char **vals, size_t n, const char **positional)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--verbose") == 0 || strcmp(argv[i], "-v") == 0) {
            size_t k;
            for (k = 0; k < n && strcmp(names[k], "verbose") != 0; k++)
                ;
            if (k == n) {
                fprintf(stderr, "%s: unknown flag %s\n", prog, argv[i]);
                return -1;
            }
            vals[k] = "true";
            continue;
        }
        if (strncmp(argv[i], "--", 2) != 0 && strcmp(argv[i], "-h") != 0) {
            if (!positional || *positional) {
                fprintf(stderr, "%s: unexpected argument %s\n", prog, argv[i]);
                return -1;
            }
            *positional = argv[i];
            continue;
        }
        char name[64];
        const char *val;
        int r = kc_flag_next(prog, argc, argv, &i, name, sizeof name, &val);
        if (r != 0)
            return r;
        size_t k;
        for (k = 0; k < n && strcmp(names[k], name) != 0; k++)
            ;
        if (k == n) {
            fprintf(stderr, "%s: unknown flag --%s\n", prog, name);
            return -1;
        }
        vals[k] = val;
    }
    return 0;
}

static int need(const char *prog, const char *flag, const char *val)
{
    if (val && *val)
        return 0;
    fprintf(stderr, "%s: --%s is required\n", prog, flag);
    return -1;
}

/* The demo image's nc built with kubec (CMake's demo-nc target): path receives
 * <kubec's directory>/kubec-demo-nc. 0 or -1. */
static int default_nc(char *path, size_t len)
{
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return -1;
    self[n] = 0;
    char *slash = strrchr(self, '/');
    if (!slash)
        return -1;
    *slash = 0;
    snprintf(path, len, "%s/kubec-demo-nc", self);
    return 0;
}

static int cmd_build_demo(int argc, char **argv)
{
    const char *prog = "image build-demo";
    const char *names[] = {"layout", "name", "tag", "busybox", "nc"};
    const char *v[] = {NULL, "jweissig/alpine-k8s-pod-lb-demo", "latest", "/bin/busybox", NULL};
    int r = parse(prog, argc, argv, names, v, 5, NULL);
    if (r != 0)
        return r == 1 ? (usage(stdout), 0) : 2;
    if (need(prog, "layout", v[0]) != 0)
        return 2;
    char ref[600], digest[80], err[1024], nc[4200];
    const char *nc_path = v[4] && *v[4] ? v[4] : NULL;
    if (!v[4]) {
        if (default_nc(nc, sizeof nc) == 0 && access(nc, R_OK) == 0)
            nc_path = nc;
        else
            fprintf(stderr,
                    "%s: warning: no kubec-demo-nc next to kubec: /bin/nc is busybox's "
                    "(no UDP)\n",
                    prog);
    }
    snprintf(ref, sizeof ref, "%s:%s", v[1], v[2]);
    if (kc_image_build_demo(v[0], v[3], nc_path, ref, digest, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return 1;
    }
    printf("%s\n", digest);
    return 0;
}

static int cmd_push(int argc, char **argv)
{
    const char *prog = "image push";
    const char *names[] = {"layout", "ref", "registry", "verbose"};
    const char *v[] = {NULL, NULL, NULL, NULL};
    int r = parse(prog, argc, argv, names, v, 4, NULL);
    if (r != 0)
        return r == 1 ? (usage(stdout), 0) : 2;
    if (need(prog, "layout", v[0]) || need(prog, "ref", v[1]) || need(prog, "registry", v[2]))
        return 2;
    char digest[80], err[1024];
    if (kc_image_push(v[0], v[1], v[2], v[3] != NULL, digest, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return 1;
    }
    printf("%s\n", digest);
    return 0;
}

static int cmd_pull(int argc, char **argv)
{
    const char *prog = "image pull";
    const char *names[] = {"store", "registry", "layouts", "policy"};
    const char *v[] = {NULL, NULL, NULL, NULL};
    const char *image = NULL;
    int r = parse(prog, argc, argv, names, v, 4, &image);
    if (r != 0)
        return r == 1 ? (usage(stdout), 0) : 2;
    if (need(prog, "store", v[0]) != 0)
        return 2;
    if (!image) {
        fprintf(stderr, "%s: IMAGE is required\n", prog);
        return 2;
    }
    struct kc_image_store *s = kc_image_store_new(v[0], v[1], v[2]);
    if (!s)
        return 1;
    struct kc_image img;
    char msg[2048];
    enum kc_image_err e = kc_image_ensure(s, image, v[3], &img, msg, sizeof msg);
    int rc = 0;
    if (e == KC_IMAGE_OK) {
        printf("ref      %s\nimageID  %s\nconfig   %s\nrootfs   %s\n", img.ref, img.image_id,
               img.config_digest, img.rootfs);
    } else {
        fprintf(stderr, "%s: %s\n", kc_image_err_reason(e), msg);
        rc = e == KC_IMAGE_ERR_NEVER_PULL ? 3 : e == KC_IMAGE_ERR_INVALID_NAME ? 4 : 1;
    }
    kc_image_release(&img);
    kc_image_store_free(s);
    return rc;
}

int kc_image_main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "build-demo") == 0)
        return cmd_build_demo(argc - 1, argv + 1);
    if (strcmp(argv[1], "push") == 0)
        return cmd_push(argc - 1, argv + 1);
    if (strcmp(argv[1], "pull") == 0)
        return cmd_pull(argc - 1, argv + 1);
    fprintf(stderr, "kubec image: unknown command %s\n\n", argv[1]);
    usage(stderr);
    return 2;
}
