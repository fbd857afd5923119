#!/usr/bin/env python3
"""Writes openapi/types.def, the compact schema definition of every served type, from
the public k8s.io/api generated.proto files (field names, JSON types, list and map
semantics and patch merge keys are facts of the public API; the proto comments carry the
+patchMergeKey/+patchStrategy/+listType/+listMapKey/+mapType/+optional markers).
Descriptions are not taken from upstream: types.def carries our own, short ones.

usage: gen_openapi_defs.py openapi/types.def core.proto apps.proto networking.proto ...
"""
import re
import sys

MAIN_TYPES = [
    # group, version, kind, message, namespaced
    ("", "v1", "Pod", "k8s.io.api.core.v1.Pod"),
    ("", "v1", "Service", "k8s.io.api.core.v1.Service"),
    ("", "v1", "Namespace", "k8s.io.api.core.v1.Namespace"),
    ("", "v1", "Node", "k8s.io.api.core.v1.Node"),
    ("", "v1", "Endpoints", "k8s.io.api.core.v1.Endpoints"),
    ("", "v1", "ConfigMap", "k8s.io.api.core.v1.ConfigMap"),
    ("", "v1", "Secret", "k8s.io.api.core.v1.Secret"),
    ("", "v1", "Event", "k8s.io.api.core.v1.Event"),
    ("", "v1", "ServiceAccount", "k8s.io.api.core.v1.ServiceAccount"),
    ("", "v1", "Binding", "k8s.io.api.core.v1.Binding"),
    ("apps", "v1", "Deployment", "k8s.io.api.apps.v1.Deployment"),
    ("apps", "v1", "ReplicaSet", "k8s.io.api.apps.v1.ReplicaSet"),
    ("networking.k8s.io", "v1", "Ingress", "k8s.io.api.networking.v1.Ingress"),
    ("networking.k8s.io", "v1", "IngressClass", "k8s.io.api.networking.v1.IngressClass"),
    ("discovery.k8s.io", "v1", "EndpointSlice", "k8s.io.api.discovery.v1.EndpointSlice"),
    ("coordination.k8s.io", "v1", "Lease", "k8s.io.api.coordination.v1.Lease"),
    ("autoscaling", "v1", "Scale", "k8s.io.api.autoscaling.v1.Scale"),
    ("rbac.authorization.k8s.io", "v1", "Role", "k8s.io.api.rbac.v1.Role"),
    ("rbac.authorization.k8s.io", "v1", "ClusterRole", "k8s.io.api.rbac.v1.ClusterRole"),
    ("rbac.authorization.k8s.io", "v1", "RoleBinding", "k8s.io.api.rbac.v1.RoleBinding"),
    ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "k8s.io.api.rbac.v1.ClusterRoleBinding"),
]

# Scale lives in autoscaling/v1, which we do not parse: its facts, by hand.
EXTRA = """
package k8s.io.api.autoscaling.v1;
message Scale {
  // +optional
  optional k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta metadata = 1;
  // +optional
  optional ScaleSpec spec = 2;
  // +optional
  optional ScaleStatus status = 3;
}
message ScaleSpec {
  // +optional
  optional int32 replicas = 1;
}
message ScaleStatus {
  optional int32 replicas = 1;
  // +optional
  optional string selector = 2;
}
"""

# Closed value sets of common fields (the API's enums), keyed by type.field.
ENUMS = {
    "DeploymentStrategy.type": ["Recreate", "RollingUpdate"],
    "PodSpec.restartPolicy": ["Always", "Never", "OnFailure"],
    "PodSpec.dnsPolicy": ["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"],
    "Container.imagePullPolicy": ["Always", "IfNotPresent", "Never"],
    "Container.terminationMessagePolicy": ["FallbackToLogsOnError", "File"],
    "ContainerPort.protocol": ["SCTP", "TCP", "UDP"],
    "ServicePort.protocol": ["SCTP", "TCP", "UDP"],
    "ServiceSpec.type": ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"],
    "ServiceSpec.sessionAffinity": ["ClientIP", "None"],
    "ServiceSpec.externalTrafficPolicy": ["Cluster", "Local"],
    "ServiceSpec.internalTrafficPolicy": ["Cluster", "Local"],
    "ServiceSpec.ipFamilyPolicy": ["PreferDualStack", "RequireDualStack", "SingleStack"],
    "HTTPIngressPath.pathType": ["Exact", "ImplementationSpecific", "Prefix"],
    "PodStatus.phase": ["Failed", "Pending", "Running", "Succeeded", "Unknown"],
    "NamespaceStatus.phase": ["Active", "Terminating"],
    "Toleration.operator": ["Equal", "Exists"],
    "Toleration.effect": ["NoExecute", "NoSchedule", "PreferNoSchedule"],
    "Taint.effect": ["NoExecute", "NoSchedule", "PreferNoSchedule"],
    "EndpointSlice.addressType": ["FQDN", "IPv4", "IPv6"],
}

# Embedded Go structs whose JSON is inlined into the parent (json:",inline").
INLINE = {("IngressRule", "ingressRuleValue"), ("Volume", "volumeSource"), ("Probe", "handler"),
          ("EphemeralContainer", "ephemeralContainerCommon"),
          ("PersistentVolumeSpec", "persistentVolumeSource")}

# LocalObjectReference ({"name"}) is embedded inline by the key selectors and sources.
INLINE |= {(t, "localObjectReference") for t in (
    "ConfigMapEnvSource", "ConfigMapKeySelector", "ConfigMapProjection", "ConfigMapVolumeSource",
    "SecretEnvSource", "SecretKeySelector", "SecretProjection")}

SPECIAL = {
    "k8s.io.apimachinery.pkg.apis.meta.v1.Time": "string:date-time",
    "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime": "string:date-time",
    "k8s.io.apimachinery.pkg.apis.meta.v1.Duration": "string",
    "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1": "object",
    "k8s.io.apimachinery.pkg.runtime.RawExtension": "object",
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString": "int-or-string",
    "k8s.io.apimachinery.pkg.api.resource.Quantity": "quantity",
}
SCALAR = {"string": "string", "int32": "integer:int32", "int64": "integer:int64",
          "bool": "boolean", "bytes": "string:byte", "double": "number:double",
          "float": "number:float"}

FIELD = re.compile(r"^\s*(optional|repeated)\s+([\w.]+)\s+(\w+)\s*=\s*(\d+)")
MAPF = re.compile(r"^\s*map<\s*(\w+)\s*,\s*([\w.]+)\s*>\s+(\w+)\s*=\s*(\d+)")


def parse(text, messages):
    pkg, cur, notes = None, None, []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("//"):
            m = re.match(r"//\s*\+(\w+)(?:=(.*))?", line)
            if m:
                notes.append((m.group(1), (m.group(2) or "").strip()))
            continue
        m = re.match(r"^package\s+([\w.]+);", line)
        if m:
            pkg = m.group(1)
            continue
        m = re.match(r"^message\s+(\w+)\s*\{", line)
        if m:
            cur = pkg + "." + m.group(1)
            messages[cur] = {"pkg": pkg, "fields": [], "notes": notes}
            notes = []
            continue
        if line.startswith("}"):
            cur, notes = None, []
            continue
        if not cur:
            notes = []
            continue
        m = MAPF.match(line)
        if m:
            messages[cur]["fields"].append(("map", m.group(2), m.group(3), dict(notes)))
        else:
            m = FIELD.match(line)
            if m:
                messages[cur]["fields"].append((m.group(1), m.group(2), m.group(3), dict(notes)))
        notes = []


def resolve(t, pkg, messages):
    t = t.lstrip(".")
    for cand in (t, pkg + "." + t):
        if cand in SCALAR or cand in SPECIAL or cand in messages:
            return cand
    raise SystemExit("unknown type %s in %s" % (t, pkg))


def openapi_name(full):
    return "io." + full.replace("k8s.io.", "k8s.") if not full.startswith("k8s.io.apimachinery") \
        else "io.k8s.apimachinery." + full[len("k8s.io.apimachinery."):]


def main():
    out = sys.argv[1]
    messages = {}
    import importlib.util
    spec = importlib.util.spec_from_file_location("pb", sys.argv[0].replace("gen_openapi_defs.py", "gen_pb_schema.py"))
    # the apimachinery messages are shared with the protobuf generator
    src = open(spec.origin).read()
    apim = src[src.index('APIMACHINERY = """') + 18: src.index('"""', src.index('APIMACHINERY = """') + 18)]
    parse(apim, messages)
    parse(EXTRA, messages)
    for path in sys.argv[2:]:
        parse(open(path).read(), messages)
    need, todo, seen = [], [m for _, _, _, m in MAIN_TYPES], set()
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        need.append(m)
        for kind, t, name, notes in messages[m]["fields"]:
            rt = resolve(t, messages[m]["pkg"], messages)
            if rt in messages and rt not in SPECIAL:
                todo.append(rt)
    need.sort(key=openapi_name)
    o = ["# Schemas of the served types, generated by scripts/gen_openapi_defs.py from the",
         "# public k8s.io/api message definitions. One block per type:",
         "#   T <openapi name> [gvk=<group>/<version>/<Kind>]",
         "#   F <json name> <type> [req] [pmk=<merge key>] [ps=<strategy>] [lt=<list type>]",
         "#     [lmk=<keys>] [mt=<map type>] [enum=<a,b>]",
         "# <type>: string[:format] integer:int32 boolean number:double object int-or-string",
         "#   quantity ref:<name> []<type> (list) {}<type> (map)",
         "# Descriptions live in openapi/descriptions.def."]
    gvk = {m: "%s/%s/%s" % (g, v, k) for g, v, k, m in MAIN_TYPES}
    for m in need:
        msg = messages[m]
        short = m.split(".")[-1]
        head = "T " + openapi_name(m)
        if m in gvk:
            head += " gvk=" + gvk[m]
        o.append(head)
        for kind, t, name, notes, msg in expand(msg, messages):
            rt = resolve(t, msg["pkg"], messages)
            if rt in SCALAR:
                ty = SCALAR[rt]
            elif rt in SPECIAL:
                ty = SPECIAL[rt]
            else:
                ty = "ref:" + openapi_name(rt)
            if kind == "repeated":
                ty = "[]" + ty
            elif kind == "map":
                ty = "{}" + ty
            parts = ["F", name, ty]
            if "optional" not in notes and kind == "optional" and name not in ("metadata", "spec", "status", "apiVersion", "kind") and not msg["pkg"].startswith("k8s.io.apimachinery"):
                parts.append("req")
            if "patchMergeKey" in notes:
                parts.append("pmk=" + notes["patchMergeKey"])
            if "patchStrategy" in notes:
                parts.append("ps=" + notes["patchStrategy"])
            if "listType" in notes:
                parts.append("lt=" + notes["listType"])
            keys = [v for k, v in msg_notes_all(msg, name) if k == "listMapKey"]
            if keys:
                parts.append("lmk=" + ",".join(keys))
            if "mapType" in notes:
                parts.append("mt=" + notes["mapType"])
            e = ENUMS.get(short + "." + name)
            if e:
                parts.append("enum=" + ",".join(e))
            o.append(" ".join(parts))
    open(out, "w").write("\n".join(o) + "\n")


def expand(msg, messages):
    """The fields of msg, with inlined embedded structs replaced by their own fields."""
    short = [k for k, v in messages.items() if v is msg][0].split(".")[-1]
    for kind, t, name, notes in msg["fields"]:
        if (short, name) in INLINE:
            sub = messages[resolve(t, msg["pkg"], messages)]
            for f in expand(sub, messages):
                yield f
        else:
            yield kind, t, name, notes, msg


# listMapKey can repeat; keep every occurrence for a field
_multi = {}


def msg_notes_all(msg, name):
    return _multi.get((id(msg), name), [])


_orig_parse = parse


def parse(text, messages):  # noqa: F811 (wraps the first parse to keep repeated markers)
    pkg, cur, notes = None, None, []
    before = set(messages)
    _orig_parse(text, messages)
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("//"):
            m = re.match(r"//\s*\+(\w+)(?:=(.*))?", line)
            if m:
                notes.append((m.group(1), (m.group(2) or "").strip()))
            continue
        m = re.match(r"^package\s+([\w.]+);", line)
        if m:
            pkg = m.group(1)
            continue
        m = re.match(r"^message\s+(\w+)\s*\{", line)
        if m:
            cur, notes = pkg + "." + m.group(1), []
            continue
        if line.startswith("}"):
            cur, notes = None, []
            continue
        f = MAPF.match(line) or FIELD.match(line)
        if cur and f:
            _multi[(id(messages[cur]), f.group(3))] = list(notes)
        notes = []


main()
