#!/usr/bin/env python3
"""Generates apiserver/protobuf/pb_schema.c: the field tables of the Kubernetes protobuf
messages the apiserver decodes (kubectl 1.32+ sends protobuf request bodies).

Input: the public generated.proto files of k8s.io/api (core/v1, apps/v1, networking/v1,
coordination/v1, discovery/v1, authorization/v1, authentication/v1) given on the command
line. The few apimachinery messages they use are described below by hand. Only message
names, field numbers, field names and types are taken: facts of the public wire format.

usage: gen_pb_schema.py OUT.c FILE.proto...
"""
import re
import sys

# apimachinery messages (meta/v1, intstr, resource, runtime): facts of the wire format.
APIMACHINERY = """
package k8s.io.apimachinery.pkg.apis.meta.v1;
message ObjectMeta {
  optional string name = 1;
  optional string generateName = 2;
  optional string namespace = 3;
  optional string selfLink = 4;
  optional string uid = 5;
  optional string resourceVersion = 6;
  optional int64 generation = 7;
  optional Time creationTimestamp = 8;
  optional Time deletionTimestamp = 9;
  optional int64 deletionGracePeriodSeconds = 10;
  map<string, string> labels = 11;
  map<string, string> annotations = 12;
  repeated OwnerReference ownerReferences = 13;
  repeated string finalizers = 14;
  repeated ManagedFieldsEntry managedFields = 17;
}
message OwnerReference {
  optional string kind = 1;
  optional string name = 3;
  optional string uid = 4;
  optional string apiVersion = 5;
  optional bool controller = 6;
  optional bool blockOwnerDeletion = 7;
}
message ManagedFieldsEntry {
  optional string manager = 1;
  optional string operation = 2;
  optional string apiVersion = 3;
  optional Time time = 4;
  optional string fieldsType = 6;
  optional FieldsV1 fieldsV1 = 7;
  optional string subresource = 8;
}
message LabelSelector {
  map<string, string> matchLabels = 1;
  repeated LabelSelectorRequirement matchExpressions = 2;
}
message LabelSelectorRequirement {
  optional string key = 1;
  optional string operator = 2;
  repeated string values = 3;
}
message FieldSelectorRequirement {
  optional string key = 1;
  optional string operator = 2;
  repeated string values = 3;
}
message ListMeta {
  optional string selfLink = 1;
  optional string resourceVersion = 2;
  optional string continue = 3;
  optional int64 remainingItemCount = 4;
}
message Condition {
  optional string type = 1;
  optional string status = 2;
  optional int64 observedGeneration = 3;
  optional Time lastTransitionTime = 4;
  optional string reason = 5;
  optional string message = 6;
}
"""

SPECIAL = {
    "k8s.io.apimachinery.pkg.apis.meta.v1.Time": "KC_PB_TIME",
    "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime": "KC_PB_MICROTIME",
    "k8s.io.apimachinery.pkg.apis.meta.v1.Duration": "KC_PB_DURATION",
    "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1": "KC_PB_RAWJSON",
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString": "KC_PB_INTSTR",
    "k8s.io.apimachinery.pkg.api.resource.Quantity": "KC_PB_QUANTITY",
    "k8s.io.apimachinery.pkg.runtime.RawExtension": "KC_PB_RAWJSON",
}
SCALARS = {"string": "KC_PB_STRING", "int32": "KC_PB_INT", "int64": "KC_PB_INT",
           "bool": "KC_PB_BOOL", "bytes": "KC_PB_BYTES", "double": "KC_PB_DOUBLE",
           "float": "KC_PB_FLOAT"}

ROOTS = [
    ("k8s.io.api.core.v1.Pod", "v1", "Pod"),
    ("k8s.io.api.core.v1.Service", "v1", "Service"),
    ("k8s.io.api.core.v1.Namespace", "v1", "Namespace"),
    ("k8s.io.api.core.v1.Node", "v1", "Node"),
    ("k8s.io.api.core.v1.ConfigMap", "v1", "ConfigMap"),
    ("k8s.io.api.core.v1.Secret", "v1", "Secret"),
    ("k8s.io.api.core.v1.ServiceAccount", "v1", "ServiceAccount"),
    ("k8s.io.api.core.v1.Endpoints", "v1", "Endpoints"),
    ("k8s.io.api.core.v1.Event", "v1", "Event"),
    ("k8s.io.api.core.v1.Binding", "v1", "Binding"),
    ("k8s.io.api.apps.v1.Deployment", "apps/v1", "Deployment"),
    ("k8s.io.api.apps.v1.ReplicaSet", "apps/v1", "ReplicaSet"),
    ("k8s.io.api.networking.v1.Ingress", "networking.k8s.io/v1", "Ingress"),
    ("k8s.io.api.networking.v1.IngressClass", "networking.k8s.io/v1", "IngressClass"),
    ("k8s.io.api.discovery.v1.EndpointSlice", "discovery.k8s.io/v1", "EndpointSlice"),
    ("k8s.io.api.coordination.v1.Lease", "coordination.k8s.io/v1", "Lease"),
    ("k8s.io.api.authorization.v1.SelfSubjectAccessReview", "authorization.k8s.io/v1", "SelfSubjectAccessReview"),
    ("k8s.io.api.authentication.v1.SelfSubjectReview", "authentication.k8s.io/v1", "SelfSubjectReview"),
    ("k8s.io.api.authentication.v1.TokenRequest", "authentication.k8s.io/v1", "TokenRequest"),
    ("k8s.io.api.rbac.v1.Role", "rbac.authorization.k8s.io/v1", "Role"),
    ("k8s.io.api.rbac.v1.ClusterRole", "rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("k8s.io.api.rbac.v1.RoleBinding", "rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("k8s.io.api.rbac.v1.ClusterRoleBinding", "rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
]

# Embedded Go structs whose JSON is inlined into the parent (json:",inline").
INLINE = {("IngressRule", "ingressRuleValue"), ("Volume", "volumeSource"), ("Probe", "handler"),
          ("EphemeralContainer", "ephemeralContainerCommon"),
          ("PersistentVolumeSpec", "persistentVolumeSource")}

# LocalObjectReference ({"name"}) is embedded inline by the key selectors and sources.
INLINE |= {(t, "localObjectReference") for t in (
    "ConfigMapEnvSource", "ConfigMapKeySelector", "ConfigMapProjection", "ConfigMapVolumeSource",
    "SecretEnvSource", "SecretKeySelector", "SecretProjection")}

FIELD = re.compile(r"^\s*(optional|repeated)\s+([\w.]+)\s+(\w+)\s*=\s*(\d+)")
MAPF = re.compile(r"^\s*map<\s*(\w+)\s*,\s*([\w.]+)\s*>\s+(\w+)\s*=\s*(\d+)")


def parse(text, messages):
    pkg = None
    cur = None
    for line in text.splitlines():
        line = line.split("//")[0]
        m = re.match(r"^package\s+([\w.]+);", line)
        if m:
            pkg = m.group(1)
            continue
        m = re.match(r"^message\s+(\w+)\s*\{", line)
        if m:
            cur = pkg + "." + m.group(1)
            messages[cur] = {"pkg": pkg, "fields": []}
            continue
        if line.startswith("}"):
            cur = None
            continue
        if not cur:
            continue
        m = MAPF.match(line)
        if m:
            messages[cur]["fields"].append(("map", m.group(2), m.group(3), int(m.group(4))))
            continue
        m = FIELD.match(line)
        if m:
            messages[cur]["fields"].append((m.group(1), m.group(2), m.group(3), int(m.group(4))))


def resolve(t, pkg, messages):
    t = t.lstrip(".")
    if t in SCALARS:
        return t
    if t in SPECIAL or t in messages:
        return t
    if pkg + "." + t in messages or pkg + "." + t in SPECIAL:
        return pkg + "." + t
    raise SystemExit("unknown type %s in %s" % (t, pkg))


def cname(full):
    return "m_" + full.replace("k8s.io.", "").replace(".", "_")


def main():
    out = sys.argv[1]
    messages = {}
    parse(APIMACHINERY, messages)
    for path in sys.argv[2:]:
        parse(open(path).read(), messages)
    # reachability from the roots
    need, todo = [], [r[0] for r in ROOTS]
    seen = set()
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        need.append(m)
        msg = messages[m]
        for kind, t, name, num in msg["fields"]:
            rt = resolve(t, msg["pkg"], messages)
            if rt in messages and rt not in SPECIAL:
                todo.append(rt)
    need.sort()
    o = []
    o.append("/* Generated by scripts/gen_pb_schema.py from the public k8s.io/api .proto")
    o.append(" * definitions (message names, field numbers, names and types). Do not edit. */")
    o.append("/* clang-format off */")
    o.append('#include "apiserver/protobuf/pb_schema.h"\n')
    for m in need:
        o.append("static const struct kc_pb_message %s;" % cname(m))
    o.append("")
    for m in need:
        msg = messages[m]
        fields = sorted(msg["fields"], key=lambda f: f[3])
        o.append("static const struct kc_pb_field %s_fields[] = {" % cname(m))
        for kind, t, name, num in fields:
            rt = resolve(t, msg["pkg"], messages)
            flags = "KC_PB_REPEATED" if kind == "repeated" else ("KC_PB_MAP" if kind == "map" else "0")
            if (m.split(".")[-1], name) in INLINE:
                flags = "KC_PB_INLINE"
            if rt in SCALARS:
                typ, ref = SCALARS[rt], "NULL"
            elif rt in SPECIAL:
                typ, ref = SPECIAL[rt], "NULL"
            else:
                typ, ref = "KC_PB_MESSAGE", "&" + cname(rt)
            o.append('    {%d, "%s", %s, %s, %s},' % (num, name, typ, flags, ref))
        o.append("};")
        o.append('static const struct kc_pb_message %s = {"%s", %s_fields, %d};\n'
                 % (cname(m), m.split(".")[-1], cname(m), len(fields)))
    o.append("const struct kc_pb_kind kc_pb_kinds[] = {")
    for full, av, kind in ROOTS:
        o.append('    {"%s", "%s", &%s},' % (av, kind, cname(full)))
    o.append("    {NULL, NULL, NULL},")
    o.append("};")
    open(out, "w").write("\n".join(o) + "\n")


main()
