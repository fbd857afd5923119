/* Image references, normalised the way Docker and the kubelet do it (distribution's
 * reference grammar): an optional registry host, a lowercase repository path, an optional
 * tag and an optional digest; a name without a host lives on docker.io, a one-component
 * name there under library/. The grammar is checked by hand, piece by piece:
 *   reference := name [ ":" tag ] [ "@" digest ]
 *   name      := [ domain "/" ] path-component ( "/" path-component )*
 *   domain    := host [ ":" port ]   host := dns-name | "[" ipv6 "]"
 *   path-component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
 *   tag       := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
 *   digest    := algorithm ":" hex{32,}   (only sha256 is accepted to pull)
 */
#include "nodeagent/image_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define NAME_MAX_TOTAL 255

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
    return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool is_word(char c)
{
    return is_alnum(c) || c == '_';
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* [a-z0-9]+ ( separator [a-z0-9]+ )* with separator "." | "_" | "__" | "-"+ */
static bool is_path_component(const char *s, size_t n)
{
    size_t i = 0;
    if (n == 0 || !is_lower_alnum(s[0]))
        return false;
    while (i < n) {
        while (i < n && is_lower_alnum(s[i]))
            i++;
        if (i == n)
            return true;
        size_t sep = i;
        if (s[i] == '.') {
            i++;
        } else if (s[i] == '_') {
            i++;
            if (i < n && s[i] == '_')
                i++;
        } else if (s[i] == '-') {
            while (i < n && s[i] == '-')
                i++;
        } else {
            return false;
        }
        if (i == n || !is_lower_alnum(s[i]) || i == sep)
            return false;
    }
    return true;
}

/* path-component ( "/" path-component )* */
static bool is_path(const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '/') {
            if (!is_path_component(s + start, i - start))
                return false;
            start = i + 1;
        }
    }
    return true;
}

/* [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9] */
static bool is_domain_component(const char *s, size_t n)
{
    if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
        return false;
    for (size_t i = 1; i + 1 < n; i++)
        if (!is_alnum(s[i]) && s[i] != '-')
            return false;
    return true;
}

/* host [ ":" port ] */
static bool is_domain(const char *s, size_t n)
{
    size_t hostlen;
    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (!close || close == s + 1)
            return false;
        for (const char *p = s + 1; p < close; p++)
            if (!is_hex(*p) && *p != ':')
                return false;
        hostlen = (size_t)(close - s) + 1;
    } else {
        const char *colon = memchr(s, ':', n);
        hostlen = colon ? (size_t)(colon - s) : n;
        size_t start = 0;
        for (size_t i = 0; i <= hostlen; i++) {
            if (i == hostlen || s[i] == '.') {
                if (!is_domain_component(s + start, i - start))
                    return false;
                start = i + 1;
            }
        }
    }
    if (hostlen == n)
        return true;
    if (s[hostlen] != ':' || hostlen + 1 == n)
        return false;
    for (size_t i = hostlen + 1; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static bool is_tag(const char *s, size_t n)
{
    if (n == 0 || n > 128 || !is_word(s[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!is_word(s[i]) && s[i] != '.' && s[i] != '-')
            return false;
    return true;
}

/* [A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)* ":" [[:xdigit:]]{32,} */
static bool is_digest_syntax(const char *s, size_t n)
{
    size_t i = 0;
    for (;;) {
        if (i >= n || !isalpha((unsigned char)s[i]))
            return false;
        while (i < n && is_alnum(s[i]))
            i++;
        if (i < n && (s[i] == '-' || s[i] == '_' || s[i] == '+' || s[i] == '.')) {
            i++;
            continue;
        }
        break;
    }
    if (i >= n || s[i] != ':')
        return false;
    i++;
    if (n - i < 32)
        return false;
    for (; i < n; i++)
        if (!is_hex(s[i]))
            return false;
    return true;
}

bool kc_image_digest_valid(const char *d)
{
    if (!d || strncmp(d, "sha256:", 7) != 0 || strlen(d) != 7 + 64)
        return false;
    for (const char *p = d + 7; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

/* go-digest's checks on a syntactically valid digest, with its messages. */
static const char *digest_error(const char *d)
{
    const char *colon = strchr(d, ':');
    if (strncmp(d, "sha256:", 7) != 0 || colon != d + 6)
        return "unsupported digest algorithm";
    if (strlen(colon + 1) != 64)
        return "invalid checksum digest length";
    if (!kc_image_digest_valid(d))
        return "invalid checksum digest format";
    return NULL;
}

struct parsed {
    size_t name_len; /* name is s[0..name_len) */
    const char *tag; /* NULL when none */
    size_t tag_len;
    const char *digest; /* NULL when none */
};

/* Matches "name[:tag][@digest]" against the grammar; true with the pieces. */
static bool match_reference(const char *s, struct parsed *p)
{
    size_t n = strlen(s);
    const char *at = strchr(s, '@');
    size_t before = at ? (size_t)(at - s) : n;
    memset(p, 0, sizeof *p);
    if (at) {
        if (!is_digest_syntax(at + 1, n - before - 1))
            return false;
        p->digest = at + 1;
    }
    /* a tag follows the last ':' after the last '/' (a ':' before it is a port) */
    const char *slash = NULL, *colon = NULL;
    for (size_t i = 0; i < before; i++) {
        if (s[i] == '/')
            slash = s + i, colon = NULL;
        else if (s[i] == ':')
            colon = s + i;
    }
    if (colon && slash) {
        p->tag = colon + 1;
        p->tag_len = (size_t)(s + before - p->tag);
        if (!is_tag(p->tag, p->tag_len))
            return false;
        before = (size_t)(colon - s);
    }
    p->name_len = before;
    /* either the whole name is a path, or its first component is a domain */
    if (is_path(s, before))
        return true;
    const char *first = memchr(s, '/', before);
    if (!first)
        return false;
    size_t dl = (size_t)(first - s);
    return is_domain(s, dl) && is_path(first + 1, before - dl - 1);
}

static bool has_upper(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] >= 'A' && s[i] <= 'Z')
            return true;
    return false;
}

int kc_image_ref_parse(const char *s, struct kc_image_ref *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    size_t n = strlen(s);
    if (n == 64) {
        bool ident = true;
        for (size_t i = 0; i < n && ident; i++)
            ident = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f');
        if (ident) {
            kc_image_errf(
                err, errlen,
                "invalid repository name (%s), cannot specify 64-byte hexadecimal strings", s);
            return -1;
        }
    }
    if (n >= 1024) {
        kc_image_errf(err, errlen, "invalid reference format");
        return -1;
    }
    /* splitDockerDomain: the first component is a registry host when it is "localhost",
     * contains '.' or ':', or has an uppercase letter (no repository may) */
    char domain[1024], remainder[1100];
    const char *slash = strchr(s, '/'), *rest = s;
    snprintf(domain, sizeof domain, "docker.io");
    if (slash) {
        size_t dl = (size_t)(slash - s);
        bool is_host = (dl == 9 && strncmp(s, "localhost", 9) == 0) || memchr(s, '.', dl) ||
                       memchr(s, ':', dl) || has_upper(s, dl);
        if (is_host && !(dl == 15 && strncmp(s, "index.docker.io", 15) == 0))
            snprintf(domain, sizeof domain, "%.*s", (int)dl, s);
        if (is_host)
            rest = slash + 1;
    }
    /* "docker.io/ubuntu" is docker.io/library/ubuntu, on no other registry */
    bool library = strcmp(domain, "docker.io") == 0 && !strchr(rest, '/');
    snprintf(remainder, sizeof remainder, "%s%s", library ? "library/" : "", rest);
    size_t remote_len = strcspn(remainder, ":");
    if (has_upper(remainder, remote_len)) {
        kc_image_errf(err, errlen,
                      "invalid reference format: repository name (%.*s) must be lowercase",
                      (int)remote_len, remainder);
        return -1;
    }
    char full[2200];
    snprintf(full, sizeof full, "%s/%s", domain, remainder);
    struct parsed p;
    if (!match_reference(full, &p)) {
        char lower[sizeof full];
        size_t i;
        for (i = 0; full[i]; i++)
            lower[i] = (char)tolower((unsigned char)full[i]);
        lower[i] = 0;
        struct parsed q;
        kc_image_errf(err, errlen, "%s",
                      match_reference(lower, &q) ? "repository name must be lowercase"
                                                 : "invalid reference format");
        return -1;
    }
    if (p.name_len > NAME_MAX_TOTAL) {
        kc_image_errf(err, errlen, "repository name must not be more than 255 characters");
        return -1;
    }
    if (p.digest) {
        const char *why = digest_error(p.digest);
        if (why) {
            kc_image_errf(err, errlen, "%s", why);
            return -1;
        }
        snprintf(r->digest, sizeof r->digest, "%s", p.digest);
    }
    if (p.tag)
        snprintf(r->tag, sizeof r->tag, "%.*s", (int)p.tag_len, p.tag);
    snprintf(r->name, sizeof r->name, "%.*s", (int)p.name_len, full);
    size_t dl = strlen(domain); /* < name_len <= 255 */
    snprintf(r->domain, sizeof r->domain, "%.*s", (int)(dl < 255 ? dl : 255), domain);
    snprintf(r->path, sizeof r->path, "%s", r->name + dl + 1);
    if (r->tag[0] || r->digest[0])
        snprintf(r->full, sizeof r->full, "%s%s%s%s%s", r->name, r->tag[0] ? ":" : "", r->tag,
                 r->digest[0] ? "@" : "", r->digest);
    else
        snprintf(r->full, sizeof r->full, "%s:latest", r->name);
    return 0;
}

const char *kc_image_ref_default_policy(const struct kc_image_ref *r)
{
    if (strcmp(r->tag, "latest") == 0 || (!r->tag[0] && !r->digest[0]))
        return "Always";
    return "IfNotPresent";
}

const char *kc_image_ref_target(const struct kc_image_ref *r)
{
    if (r->digest[0])
        return r->digest;
    return r->tag[0] ? r->tag : "latest";
}

bool kc_image_host_is_loopback(const char *domain)
{
    char host[256];
    if (domain[0] == '[') {
        const char *close = strchr(domain, ']');
        if (!close)
            return false;
        snprintf(host, sizeof host, "%.*s", (int)(close - domain - 1), domain + 1);
        return strcmp(host, "::1") == 0;
    }
    snprintf(host, sizeof host, "%.*s", (int)strcspn(domain, ":"), domain);
    if (strcmp(host, "localhost") == 0)
        return true;
    unsigned a, b, c, d;
    char tail;
    return sscanf(host, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4 && a == 127 && b < 256 &&
           c < 256 && d < 256;
}
