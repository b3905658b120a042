"""What the API server does with a custom resource of a CustomResourceDefinition (apiextensions.k8s.io/v1),
for the kubectl and helm stand-ins. Runs inside the pinned test venv (/opt/islet-test-tools): the schema
itself is checked with the pinned `jsonschema` package (validate_child.py imports this module there).

In the API server's order:
1. decoding: fields the schema does not know are *unknown fields*. A structural schema prunes them, unless
   `x-kubernetes-preserve-unknown-fields: true` keeps them at that node (or `additionalProperties` gives
   their schema). With field validation Strict (kubectl's default, --validate=strict) an unknown field is
   a BadRequest ("strict decoding error: unknown field ..."); with Warn (what helm's client gets, it sets no
   fieldValidation) the field is dropped and a warning printed. `null` of a field that is not `nullable` is
   dropped, as the API server does. metadata is ObjectMeta: only its known fields are accepted.
2. defaulting: `default` of an absent property is filled in.
3. validation: the openAPIV3Schema with jsonschema (Draft 4, which is what OpenAPI 3.0's schema object is
   closest to; `nullable` and `x-kubernetes-int-or-string` translated), then `x-kubernetes-list-type`
   map/set duplicates and the `x-kubernetes-validations` CEL rules. CEL is evaluated by a small interpreter
   of the subset the contracts' CRDs use (has(), size(), ==, !=, <, >, &&, ||, !, ?:, +, field and index
   access, literals); a rule outside it is reported as an error of the stand-in, never skipped.
   `format` is not checked (int32/int64/date-time only occur in status fields here).
Errors have the API server's wording: "spec.x: Required value", "spec.x: Invalid value: \"string\": spec.x in
body must be of type boolean: \"string\"", ...
"""

import copy
import json
import re

OBJECT_META = {"name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
               "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations",
               "ownerReferences", "finalizers", "managedFields"}
_KEEP = {"type", "properties", "additionalProperties", "items", "required", "enum", "minimum", "maximum",
         "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "pattern", "minItems", "maxItems",
         "uniqueItems", "multipleOf", "minProperties", "maxProperties", "allOf", "anyOf", "oneOf", "not"}


class StandinError(Exception):
    """A schema feature the stand-in does not implement (said out loud, never skipped)."""


def join(path, key):
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


# --- 1. unknown fields and nulls ---

def prune(value, schema, path, unknown, root=False):
    """Removes unknown fields (collected in ``unknown``) and nulls of non-nullable fields, in place."""
    if isinstance(value, dict):
        properties = schema.get("properties")
        additional = schema.get("additionalProperties")
        preserve = schema.get("x-kubernetes-preserve-unknown-fields") is True
        embedded = schema.get("x-kubernetes-embedded-resource") is True
        for key in list(value):
            child = value[key]
            if root or embedded:
                if key in ("apiVersion", "kind"):
                    continue
                if key == "metadata":
                    if isinstance(child, dict):
                        for meta_key in list(child):
                            if meta_key not in OBJECT_META:
                                unknown.append(join(join(path, key), meta_key))
                                del child[meta_key]
                    continue
            sub = (properties or {}).get(key)
            if sub is None and isinstance(additional, dict):
                sub = additional
            if sub is None:
                if preserve or additional is True:
                    continue
                unknown.append(join(path, key))
                del value[key]
                continue
            if child is None and not sub.get("nullable"):
                del value[key]
                continue
            prune(child, sub, join(path, key), unknown)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            prune(item, schema["items"], join(path, index), unknown)


# --- 2. defaulting ---

def default(value, schema):
    if isinstance(value, dict):
        for key, sub in (schema.get("properties") or {}).items():
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
        for key, child in value.items():
            sub = (schema.get("properties") or {}).get(key)
            if sub is None and isinstance(schema.get("additionalProperties"), dict):
                sub = schema["additionalProperties"]
            if sub is not None:
                default(child, sub)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            default(item, schema["items"])


# --- 3. validation ---

def to_json_schema(schema, root=False):
    """The openAPIV3Schema as a Draft 4 JSON schema (k8s extensions translated or left to this module)."""
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key not in _KEEP:
            continue
        if key == "properties":
            out[key] = {name: to_json_schema(sub) for name, sub in value.items()}
            if root and "metadata" in out[key]:
                out[key]["metadata"] = {"type": "object"}
        elif key == "additionalProperties":
            out[key] = value if isinstance(value, bool) else to_json_schema(value)
        elif key == "items":
            out[key] = to_json_schema(value)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [to_json_schema(sub) for sub in value]
        elif key == "not":
            out[key] = to_json_schema(value)
        else:
            out[key] = value
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("allOf", []).append({"anyOf": [{"type": "integer"}, {"type": "string"}]})
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = list(out["enum"]) + [None]
    return out


def go_type(value):
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def shown(value):
    if isinstance(value, (dict, list)):
        return f'"{go_type(value)}"'
    return json.dumps(value)


def schema_errors(obj, schema):
    import jsonschema  # only in the pinned test venv
    validator = jsonschema.Draft4Validator(to_json_schema(schema, root=True))
    errors = []
    for error in validator.iter_errors(obj):
        path = ""
        for part in error.absolute_path:
            path = join(path, part)
        kind = error.validator
        if kind == "required":
            missing = re.match(r"'(.*)' is a required property", error.message)
            errors.append(f"{join(path, missing.group(1) if missing else '?')}: Required value")
        elif kind == "type":
            wanted = error.validator_value
            wanted = "/".join(wanted) if isinstance(wanted, list) else wanted
            errors.append(f'{path}: Invalid value: "{go_type(error.instance)}": {path} in body must be of type '
                          f'{wanted}: "{go_type(error.instance)}"')
        elif kind == "enum":
            supported = ", ".join(json.dumps(v) for v in error.validator_value)
            errors.append(f"{path}: Unsupported value: {shown(error.instance)}: supported values: {supported}")
        elif kind == "minItems":
            errors.append(f"{path}: Invalid value: {len(error.instance)}: {path} in body should have at least "
                          f"{error.validator_value} items")
        elif kind == "maxItems":
            errors.append(f"{path}: Too many: {len(error.instance)}: must have at most {error.validator_value} items")
        elif kind == "minLength":
            errors.append(f"{path}: Invalid value: {shown(error.instance)}: {path} in body should be at least "
                          f"{error.validator_value} chars long")
        elif kind == "maxLength":
            errors.append(f"{path}: Too long: may not be more than {error.validator_value} bytes")
        elif kind == "pattern":
            errors.append(f"{path}: Invalid value: {shown(error.instance)}: {path} in body should match "
                          f"'{error.validator_value}'")
        elif kind == "minimum":
            errors.append(f"{path}: Invalid value: {shown(error.instance)}: {path} in body should be greater than "
                          f"or equal to {error.validator_value}")
        elif kind == "maximum":
            errors.append(f"{path}: Invalid value: {shown(error.instance)}: {path} in body should be less than or "
                          f"equal to {error.validator_value}")
        else:
            errors.append(f"{path or '<root>'}: Invalid value: {shown(error.instance)}: {error.message}")
    return errors


def extension_errors(value, schema, path, errors):
    """x-kubernetes-list-type duplicates and x-kubernetes-validations, where the value is present."""
    if not isinstance(schema, dict):
        return
    list_type = schema.get("x-kubernetes-list-type")
    if isinstance(value, list) and list_type in ("map", "set"):
        seen = []
        keys = schema.get("x-kubernetes-list-map-keys") or []
        for index, item in enumerate(value):
            identity = {k: item.get(k) for k in keys} if list_type == "map" and isinstance(item, dict) else item
            if identity in seen:
                text = ("map[string]interface {}{" + ", ".join(f'"{k}":{json.dumps(v)}' for k, v in identity.items())
                        + "}") if list_type == "map" else json.dumps(identity)
                errors.append(f"{join(path, index)}: Duplicate value: {text}")
            seen.append(identity)
    for rule in schema.get("x-kubernetes-validations") or []:
        try:
            ok = Cel(rule["rule"]).evaluate(value)
        except CelError as error:
            errors.append(f'{path}: Invalid value: "{go_type(value)}": {error} evaluating rule: {rule["rule"]}')
            continue
        if ok is not True:
            message = rule.get("message") or f"failed rule: {rule['rule']}"
            where = join(path, rule["fieldPath"].lstrip(".")) if rule.get("fieldPath") else path
            errors.append(f'{where}: Invalid value: "{go_type(value)}": {message}')
    if isinstance(value, dict):
        for key, child in value.items():
            sub = (schema.get("properties") or {}).get(key)
            if sub is None and isinstance(schema.get("additionalProperties"), dict):
                sub = schema["additionalProperties"]
            if sub is not None:
                extension_errors(child, sub, join(path, key), errors)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            extension_errors(item, schema["items"], join(path, index), errors)


def custom_resource(obj, schema, strict):
    """{"result": "ok", "object", "warnings"} | {"result": "unknown", "fields"} | {"result": "invalid", "errors"}."""
    obj = copy.deepcopy(obj)
    unknown = []
    prune(obj, schema, "", unknown, root=True)
    if unknown and strict:
        return {"result": "unknown", "fields": unknown}
    default(obj, schema)
    errors = schema_errors(obj, schema)
    spec_schema = dict(schema)
    extension_errors(obj, spec_schema, "", errors)
    if errors:
        return {"result": "invalid", "errors": sorted(set(errors), key=errors.index)}
    return {"result": "ok", "object": obj, "warnings": [f'unknown field "{f}"' for f in unknown]}


# --- CEL: the subset the contracts' CRDs use ---

class CelError(Exception):
    pass


_TOKEN = re.compile(r"\s*(?:(?P<num>\d+)|(?P<str>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")|(?P<id>[A-Za-z_]\w*)|"
                    r"(?P<op>==|!=|<=|>=|&&|\|\||[-+*/%<>!?:().,\[\]]))")


class Cel:
    def __init__(self, text):
        self.text = text
        self.tokens = []
        position = 0
        text = text.strip()
        while position < len(text):
            match = _TOKEN.match(text, position)
            if not match or match.end() == position:
                raise StandinError(f"CEL rule {self.text!r}: the stand-in's CEL subset cannot read it "
                                   f"(at {text[position:]!r})")
            position = match.end()
            kind = match.lastgroup
            self.tokens.append((kind, match.group(kind)))
        self.index = 0
        self.tree = self._ternary()
        if self.index != len(self.tokens):
            raise StandinError(f"CEL rule {self.text!r}: unexpected {self.tokens[self.index][1]!r} for the stand-in")

    # parser: returns closures over the value of `self`
    def _peek(self):
        return self.tokens[self.index][1] if self.index < len(self.tokens) else None

    def _take(self, expected=None):
        if self.index >= len(self.tokens):
            raise StandinError(f"CEL rule {self.text!r}: unexpected end")
        kind, text = self.tokens[self.index]
        if expected is not None and text != expected:
            raise StandinError(f"CEL rule {self.text!r}: expected {expected!r}, got {text!r}")
        self.index += 1
        return kind, text

    def _ternary(self):
        condition = self._or()
        if self._peek() == "?":
            self._take("?")
            yes = self._ternary()
            self._take(":")
            no = self._ternary()
            return lambda env: yes(env) if _bool(condition(env)) else no(env)
        return condition

    def _or(self):
        left = self._and()
        while self._peek() == "||":
            self._take()
            right, first = self._and(), left
            left = lambda env, a=first, b=right: _bool(a(env)) or _bool(b(env))
        return left

    def _and(self):
        left = self._compare()
        while self._peek() == "&&":
            self._take()
            right, first = self._compare(), left
            left = lambda env, a=first, b=right: _bool(a(env)) and _bool(b(env))
        return left

    def _compare(self):
        left = self._add()
        if self._peek() in ("==", "!=", "<", ">", "<=", ">="):
            op = self._take()[1]
            right = self._add()
            ops = {"==": lambda a, b: a == b and type(a) is type(b), "!=": lambda a, b: not (a == b and type(a) is type(b)),
                   "<": lambda a, b: a < b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b,
                   ">=": lambda a, b: a >= b}
            return lambda env: ops[op](left(env), right(env))
        return left

    def _add(self):
        left = self._unary()
        while self._peek() in ("+", "-"):
            op = self._take()[1]
            right, first = self._unary(), left
            left = (lambda env, a=first, b=right: _num(a(env)) + _num(b(env))) if op == "+" else \
                (lambda env, a=first, b=right: _num(a(env)) - _num(b(env)))
        return left

    def _unary(self):
        if self._peek() == "!":
            self._take()
            inner = self._unary()
            return lambda env: not _bool(inner(env))
        return self._postfix(self._primary())

    def _primary(self):
        kind, text = self._take()
        if text == "(":
            inner = self._ternary()
            self._take(")")
            return inner
        if kind == "num":
            return lambda env, n=int(text): n
        if kind == "str":
            return lambda env, s=_string(text): s
        if kind == "id":
            if text in ("true", "false"):
                return lambda env, b=(text == "true"): b
            if text == "null":
                return lambda env: None
            if text == "self":
                return lambda env: env
            if text == "has":
                self._take("(")
                target = self._primary()
                fields = []
                while self._peek() == ".":
                    self._take(".")
                    fields.append(self._take()[1])
                self._take(")")
                if not fields:
                    raise StandinError(f"CEL rule {self.text!r}: has() needs a field selection")
                *prefix, last = fields

                def has(env):
                    value = target(env)
                    for field in prefix:
                        value = _select(value, field)
                    return isinstance(value, dict) and last in value
                return has
            if text == "size":
                self._take("(")
                inner = self._ternary()
                self._take(")")
                return lambda env: _size(inner(env))
        raise StandinError(f"CEL rule {self.text!r}: {text!r} is outside the stand-in's CEL subset")

    def _postfix(self, target):
        while self._peek() in (".", "["):
            if self._take()[1] == ".":
                field = self._take()[1]
                if self._peek() == "(":
                    self._take("(")
                    self._take(")")
                    if field != "size":
                        raise StandinError(f"CEL rule {self.text!r}: method {field}() is outside the stand-in's "
                                           "CEL subset")
                    target = (lambda env, t=target: _size(t(env)))
                else:
                    target = (lambda env, t=target, f=field: _select(t(env), f))
            else:
                index = self._ternary()
                self._take("]")
                target = (lambda env, t=target, i=index: _index(t(env), i(env)))
        return target

    def evaluate(self, value):
        return self.tree(value)


def _string(token):
    body = token[1:-1]
    if token[0] == "'":
        body = body.replace("\\'", "'").replace('"', '\\"')
    return json.loads('"' + body + '"')


def _bool(value):
    if not isinstance(value, bool):
        raise CelError(f"no such overload: {go_type(value)} used as bool")
    return value


def _num(value):
    if isinstance(value, bool) or not isinstance(value, (int, str, list)):
        raise CelError(f"no such overload for +: {go_type(value)}")
    return value


def _select(value, field):
    if not isinstance(value, dict) or field not in value:
        raise CelError(f"no such key: {field}")
    return value[field]


def _index(value, index):
    try:
        return value[index]
    except (KeyError, IndexError, TypeError):
        raise CelError(f"no such key: {index}") from None


def _size(value):
    if isinstance(value, (str, list, dict)):
        return len(value)
    raise CelError(f"no such overload: size({go_type(value)})")
