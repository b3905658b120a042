"""How containerd 2.x finds and talks to a registry for a pull, done the same way with the stdlib.

One module because every pull of the stand-ins (containerd's CRI pull behind ``crictl pull``, which the kubelet
and kubeadm stand-ins call) goes through it. It follows containerd's ``core/remotes/docker/config/hosts.go``
and ``core/remotes/docker/resolver.go`` (docs/hosts.md):

- host directory for a registry host ``H`` under each ``config_path`` root (``:``-separated, the first root
  with a match wins): ``H_PORT_`` (for ``H:PORT``), ``H``, ``_default``; none → the default host;
- ``hosts.toml``: the ``[host."…"]`` tables in file order, then ``server`` last; a host's path gets ``/v2``
  appended unless it ends with ``/v2`` or ``override_path`` is set; no ``capabilities`` = pull+resolve+push;
  ``ca``/``client`` relative to the directory; an unreadable ``hosts.toml`` (TOML or type error, unknown
  capability) is logged and the directory's Docker-style cert files are used instead, i.e. the default host;
- the default host (also filled into a last entry without a host, i.e. no ``server``): docker.io →
  https://registry-1.docker.io, a loopback host with a port other than 443 → http (https first when TLS is
  configured), anything else → https of the host itself;
- resolve (tag → digest) only on hosts with pull+resolve, fetch on hosts with pull, each in order; a 404 or a
  connection error moves on to the next host, the most relevant error is reported; ``?ns=HOST`` is added
  when the host is not the reference's own registry.

The testbed has no internet and must never send a packet outside 127.0.0.0/8: a host name is looked up only
in the node's /etc/hosts (never DNS), and a name that is not there or an address outside loopback fails as
an unreachable registry would, before any connection is made.
"""

import base64
import hashlib
import http.client
import ipaddress
import json
import os
import posixpath
import re
import socket
import ssl
import tomllib
import urllib.parse

from . import common

DEFAULT_CONFIG_PATH = "/etc/containerd/certs.d:/etc/docker/certs.d"
USER_AGENT = "containerd/v2.3.4"
PLATFORM = ("linux", "amd64")
TIMEOUT = 10

MEDIA_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MEDIA_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MEDIA_DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+prettyjws"
MEDIA_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
RESOLVE_ACCEPT = ", ".join([MEDIA_DOCKER_MANIFEST, MEDIA_DOCKER_LIST, MEDIA_OCI_MANIFEST, MEDIA_OCI_INDEX, "*/*"])
INDEXES = (MEDIA_DOCKER_LIST, MEDIA_OCI_INDEX)
MANIFESTS = (MEDIA_DOCKER_MANIFEST, MEDIA_OCI_MANIFEST)

PULL, RESOLVE, PUSH = 1, 2, 4


class PullError(Exception):
    """A failed pull; ``not_found`` marks errdefs.ErrNotFound (CRI answers code NotFound)."""

    def __init__(self, message, not_found=False):
        super().__init__(message)
        self.not_found = not_found


# ---------------------------------------------------------------------------------------------- references

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_PATH = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_DOMAIN = re.compile(r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
                     r"|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")


class Reference:
    """A normalized image reference as CRI sees it (docker.io/library/… for short names, :latest by default)."""

    def __init__(self, domain, path, tag, digest):
        self.domain, self.path, self.tag, self.digest = domain, path, tag, digest

    @property
    def name(self):
        return f"{self.domain}/{self.path}"

    @property
    def object(self):
        return self.digest or self.tag

    def __str__(self):
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_reference(text):
    """Parses and normalizes like docker's ParseNormalizedNamed + TagNameOnly; raises PullError when invalid."""
    invalid = PullError(f"failed to parse image reference {text!r}: invalid reference format")
    rest, digest = text, ""
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not _DIGEST.match(digest):
            raise invalid
    tag = ""
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1:]
        if not _TAG.match(tag):
            raise invalid
    first, _, remainder = rest.partition("/")
    if remainder and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        domain, path = first, remainder
    else:
        domain, path = "docker.io", rest
    if domain == "index.docker.io":
        domain = "docker.io"
    if domain == "docker.io" and "/" not in path:
        path = f"library/{path}"
    if not _DOMAIN.match(domain):
        raise invalid
    if not _PATH.match(path):
        if path.lower() != path and _PATH.match(path.lower()):
            raise PullError(f"failed to parse image reference {text!r}: invalid reference format: "
                            "repository name must be lowercase")
        raise invalid
    if not tag and not digest:
        tag = "latest"
    return Reference(domain, path, tag, digest)


# --------------------------------------------------------------------------------------------- host config

class Host:
    """One registry host to try (containerd's docker.RegistryHost)."""

    def __init__(self, scheme="", host="", path="", capabilities=PULL | RESOLVE | PUSH):
        self.scheme, self.host, self.path, self.capabilities = scheme, host, path, capabilities
        self.ca_certs = None          # list of files, or None
        self.client_pairs = None      # list of (cert, key-or-"")
        self.skip_verify = None       # bool or None
        self.header = {}
        self.dial_timeout = None
        self.http_fallback = False    # try https first, plain http on a TLS error (configured http + TLS)
        self.auth = None              # (username, password) from CRI's registry.configs for this host, or None

    def describe(self):
        caps = [name for bit, name in ((PULL, "pull"), (RESOLVE, "resolve"), (PUSH, "push")) if self.capabilities & bit]
        return {"scheme": self.scheme, "host": self.host, "path": self.path, "capabilities": caps,
                "skip_verify": self.skip_verify, "ca": self.ca_certs, "http_fallback": self.http_fallback}


def host_paths(root, host):
    """hostPaths on unix: ``host_port_`` first when the host has a port, then the host, then _default."""
    paths = []
    index = host.rfind(":")
    if index > 0:
        paths.append(os.path.join(root, host[:index] + "_" + host[index + 1:] + "_"))
    paths += [os.path.join(root, host), os.path.join(root, "_default")]
    return paths


def host_dir(config_path, host):
    """The host directory containerd would use, or None (filepath.SplitList of config_path, first root wins)."""
    for configured_root in [p for p in config_path.split(":") if p]:
        for candidate in host_paths(common.root(configured_root), host):
            if os.path.exists(candidate):
                return candidate
    return None


_HOST_TABLE = re.compile(r"""^\s*\[(?!\[)\s*host\s*\.\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))""")


def _ordered_host_keys(text):
    """getSortedHosts: the second key part of every top-level ``[host.X…]`` table header, in file order, skipping
    a header whose host repeats the one just before (sub-tables such as ``[host."x".header]``)."""
    order, last = [], None
    for line in text.splitlines():
        match = _HOST_TABLE.match(line)
        if not match:
            continue
        key = match.group(1)
        if key is not None:
            key = json.loads(f'"{key}"')
        else:
            key = match.group(2) if match.group(2) is not None else match.group(3)
        if key != last:
            order.append(key)
            last = key
    return order


def _string_list(value, what):
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"unable to cast {value!r} to string ({what})")
    return value


def _abs(path, base):
    return path if os.path.isabs(path) else os.path.join(base, path)


def _check_types(table, where):
    """Go's toml.Unmarshal into hostFileConfig: a wrong type is a decode error."""
    expected = {"capabilities": list, "skip_verify": bool, "override_path": bool, "dial_timeout": str,
                "header": dict}
    for key, kind in expected.items():
        if key in table and not isinstance(table[key], kind):
            raise ValueError(f"toml: cannot decode {type(table[key]).__name__} into {where}.{key}")
    if "capabilities" in table:
        _string_list(table["capabilities"], "capabilities")


def parse_host_config(server, base_dir, table):
    """parseHostConfig: one hosts.toml entry (the root's ``server`` or a ``[host."…"]`` key) → Host."""
    result = Host(capabilities=0)
    override = table.get("override_path", False)
    if server:
        if not server.startswith("http"):
            server = "https://" + server
        parsed = urllib.parse.urlsplit(server)
        result.scheme, result.host = parsed.scheme, parsed.netloc
        path = parsed.path
        if path:
            path = posixpath.normpath(path)
            if not path.endswith("/v2") and not override:
                path += "/v2"
        elif not override:
            path = "/v2"
        result.path = path
    result.skip_verify = table.get("skip_verify")
    capabilities = table.get("capabilities") or []
    if capabilities:
        for capability in capabilities:
            bit = {"pull": PULL, "resolve": RESOLVE, "push": PUSH}.get(capability.lower())
            if bit is None:
                raise ValueError(f"unknown capability {capability}")
            result.capabilities |= bit
    else:
        result.capabilities = PULL | RESOLVE | PUSH
    ca = table.get("ca")
    if ca is not None:
        if isinstance(ca, str):
            result.ca_certs = [_abs(ca, base_dir)]
        elif isinstance(ca, list):
            result.ca_certs = [_abs(p, base_dir) for p in _string_list(ca, "ca")]
        else:
            raise ValueError(f'invalid type {ca!r} for "ca"')
    client = table.get("client")
    if client is not None:
        pairs = []
        if isinstance(client, str):
            pairs.append((_abs(client, base_dir), ""))
        elif isinstance(client, list):
            for item in client:
                if isinstance(item, str):
                    pairs.append((_abs(item, base_dir), ""))
                elif isinstance(item, list):
                    pair = [_abs(p, base_dir) for p in _string_list(item, "client")]
                    if len(pair) != 2:
                        raise ValueError(f'invalid pair {item!r} for "client"')
                    pairs.append(tuple(pair))
                else:
                    raise ValueError(f'invalid type {item!r} for "client"')
        else:
            raise ValueError(f'invalid type {client!r} for "client"')
        result.client_pairs = pairs
    header = table.get("header")
    if header:
        for key, value in header.items():
            if isinstance(value, str):
                result.header[key] = [value]
            elif isinstance(value, list):
                result.header[key] = _string_list(value, f"header {key}")
            else:
                raise ValueError(f"invalid type {value!r} for header {key!r}")
    if table.get("dial_timeout"):
        result.dial_timeout = _duration(table["dial_timeout"])
    return result


def _duration(text):
    match = re.fullmatch(r"((?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+)", text)
    if not match:
        raise ValueError(f'time: invalid duration "{text}"')
    scale = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * scale[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", text))


def parse_hosts_file(base_dir, text):
    """parseHostsFile: the ``[host."…"]`` entries in file order, then the root entry (``server``) last."""
    data = tomllib.loads(text)
    if "server" in data and not isinstance(data["server"], str):
        raise ValueError("toml: cannot decode server")
    _check_types(data, "hosts")
    tables = data.get("host", {})
    if not isinstance(tables, dict):
        raise ValueError("toml: cannot decode host")
    hosts = []
    for key in _ordered_host_keys(text):
        table = tables.get(key, {})
        if not isinstance(table, dict):
            raise ValueError(f"toml: cannot decode host.{key}")
        _check_types(table, f"host.{key}")
        hosts.append(parse_host_config(key, base_dir, table))
    hosts.append(parse_host_config(data.get("server", ""), base_dir, data))
    return hosts


def _cert_files(directory, log):
    """loadCertFiles: Docker's layout (*.crt CAs, *.cert/*.key client pairs) for one default entry."""
    host = Host(capabilities=0)
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        names = []
    for name in names:
        full = os.path.join(directory, name)
        if os.path.isdir(full):
            continue
        if name.endswith(".crt"):
            host.ca_certs = (host.ca_certs or []) + [full]
        if name.endswith(".cert"):
            key = full[:-5] + ".key"
            host.client_pairs = (host.client_pairs or []) + [(full, key if os.path.exists(key) else "")]
    return [host]


def load_host_dir(directory, log):
    path = os.path.join(directory, "hosts.toml")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        data = b""
    if not data:
        return _cert_files(directory, log)
    try:
        return parse_hosts_file(directory, data.decode())
    except (tomllib.TOMLDecodeError, ValueError, UnicodeDecodeError) as error:
        # containerd logs and falls back to the cert files: the upstream server is then used, not the mirror
        log(f'level=error msg="failed to decode {path}" error="{error}"')
        return _cert_files(directory, log)


def is_localhost(host):
    """docker.IsLocalhost: "localhost" or a loopback IP literal (with or without port)."""
    name = split_host_port(host)[0]
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def split_host_port(host):
    if host.startswith("["):
        end = host.find("]")
        return host[1:end], host[end + 2:] if host[end + 1:end + 2] == ":" else ""
    if host.count(":") == 1:
        name, port = host.split(":")
        return name, port
    return host, ""


def registry_hosts(namespace, config_path, log=lambda line: None):
    """ConfigureHosts for CRI: the ordered hosts to try for a registry host namespace."""
    hosts = None
    directory = host_dir(config_path, namespace) if config_path else None
    if directory:
        log(f'level=debug msg="loading host directory" dir="{directory}"')
        hosts = load_host_dir(directory, log)
    if hosts is None:
        hosts = [Host(capabilities=0)]
    if hosts and hosts[-1].host == "":
        last = hosts[-1]
        if namespace == "docker.io":
            last.scheme, last.host = "https", "registry-1.docker.io"
        elif is_localhost(namespace):
            last.host = namespace
            port = split_host_port(namespace)[1]
            last.scheme = "https" if port in ("", "443") else "http"
            if port != "80":
                last.skip_verify = True
        else:
            last.scheme, last.host = "https", namespace
        last.path = "/v2"
        last.capabilities = PULL | RESOLVE | PUSH
    for host in hosts:
        explicit_tls = host.ca_certs is not None or host.client_pairs is not None or host.skip_verify is not None
        if host.scheme == "http" and explicit_tls and split_host_port(host.host)[1] != "80":
            host.http_fallback = True
    return hosts


# --------------------------------------------------------------------------------------------------- HTTP

def _nameserver():
    try:
        with open(common.root("/etc/resolv.conf")) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2 and parts[0] == "nameserver":
                    return parts[1]
    except FileNotFoundError:
        pass
    return "127.0.0.53"


def lookup(name):
    """The address for a host name: an IP literal, localhost, or the node's /etc/hosts; never DNS."""
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        pass
    if name == "localhost":
        return "127.0.0.1"
    try:
        with open(common.root("/etc/hosts")) as f:
            for line in f:
                fields = line.split("#", 1)[0].split()
                if len(fields) >= 2 and name.lower() in (n.lower() for n in fields[1:]):
                    return fields[0]
    except FileNotFoundError:
        pass
    # Not in /etc/hosts: the real program would ask DNS, which the closed network (and the testbed) lacks
    raise OSError(f"dial tcp: lookup {name} on {_nameserver()}:53: no such host")


def _connect_address(netloc, scheme):
    name, port = split_host_port(netloc)
    port = int(port) if port else (443 if scheme == "https" else 80)
    address = lookup(name)
    if not ipaddress.ip_address(address).is_loopback:
        # Never let a packet leave 127.0.0.0/8: refused before any connection, as an unreachable network would be
        raise OSError(f"dial tcp {address}:{port}: connect: network is unreachable "
                      "(testbed: refused, outside 127.0.0.0/8)")
    return name, address, port


class _Response:
    def __init__(self, status, reason, headers, body):
        self.status, self.reason, self.headers, self.body = status, reason, headers, body

    def header(self, name):
        return self.headers.get(name.lower(), "")


def _tls_context(host):
    context = ssl.create_default_context()
    if host.ca_certs:
        for ca in host.ca_certs:
            try:
                context.load_verify_locations(ca)
            except (OSError, ssl.SSLError) as error:
                raise OSError(f"unable to load CA cert {ca!r}: {error}")
    for cert, key in host.client_pairs or []:
        context.load_cert_chain(cert, key or None)
    if host.skip_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _go_method(method):
    return method.capitalize()


def _request_once(host, scheme, method, path, headers):
    url = f"{scheme}://{host.host}{path}"
    try:
        name, address, port = _connect_address(host.host, scheme)
    except OSError as error:
        raise OSError(f'failed to do request: {_go_method(method)} "{url}": {error}')
    timeout = host.dial_timeout or TIMEOUT
    try:
        sock = socket.create_connection((address, port), timeout=timeout)
    except OSError as error:
        raise OSError(f'failed to do request: {_go_method(method)} "{url}": dial tcp {address}:{port}: '
                      f'connect: {error.strerror or error}')
    if scheme == "https":
        try:
            sock = _tls_context(host).wrap_socket(sock, server_hostname=name)
        except ssl.SSLError as error:
            sock.close()
            raise _TLSError(f'failed to do request: {_go_method(method)} "{url}": {error}')
    connection = http.client.HTTPConnection(name, port, timeout=timeout)
    connection.sock = sock
    try:
        # the URL's host as written (Go sends it so), not the address the name resolved to
        connection.request(method, path, headers=dict(headers, Host=host.host))
        response = connection.getresponse()
        body = response.read() if method != "HEAD" else b""
        result = _Response(response.status, response.reason, {k.lower(): v for k, v in response.getheaders()}, body)
    except (OSError, http.client.HTTPException) as error:
        raise OSError(f'failed to do request: {_go_method(method)} "{url}": {error}')
    finally:
        connection.close()
    return result


class _TLSError(OSError):
    pass


def request(host, method, path, accept, log):
    """One registry request with containerd's retries (405 on HEAD → GET), https→http fallback and redirects."""
    headers = {"User-Agent": USER_AGENT, "Accept": accept}
    for key, values in host.header.items():
        headers[key] = ", ".join(values)
    scheme = "https" if host.http_fallback else host.scheme
    for _ in range(10):
        try:
            response = _request_once(host, scheme, method, path, headers)
        except _TLSError:
            if scheme == "https" and host.http_fallback:
                scheme = "http"
                continue
            raise
        log(f'level=debug msg="fetch response received" url="{scheme}://{host.host}{path}" '
            f'response.status="{response.status} {response.reason}"')
        if (response.status == 401 and host.auth and "Authorization" not in headers
                and response.header("www-authenticate").lower().startswith("basic")):
            # docker's authorizer: a Basic challenge is answered with the host's credentials, once
            token = base64.b64encode(f"{host.auth[0]}:{host.auth[1]}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
            continue
        if response.status == 405 and method == "HEAD" and "/manifests/" in path:
            method = "GET"
            continue
        if response.status in (301, 302, 303, 307, 308) and response.header("location"):
            target = urllib.parse.urljoin(f"{scheme}://{host.host}{path}", response.header("location"))
            parsed = urllib.parse.urlsplit(target)
            redirected = Host(parsed.scheme, parsed.netloc, "", host.capabilities)
            redirected.ca_certs, redirected.skip_verify = host.ca_certs, host.skip_verify
            host, scheme = redirected, parsed.scheme
            path = parsed.path + (f"?{parsed.query}" if parsed.query else "")
            continue
        return response
    raise OSError(f'failed to do request: {_go_method(method)} "{scheme}://{host.host}{path}": '
                  "stopped after 10 redirects")


def _url_path(host, repository, *parts, namespace=None):
    """path.Join("/", host.Path, repository, parts...) plus ``?ns=`` when the host is not the registry itself."""
    joined = posixpath.normpath("/" + "/".join(p.strip("/") for p in (host.path, repository, *parts) if p.strip("/")))
    if namespace and host.host != namespace and not (namespace == "docker.io" and host.host == "registry-1.docker.io"):
        joined += "?" + urllib.parse.urlencode({"ns": namespace})
    return joined


def _unexpected(response, method, url):
    return f"unexpected status from {method} request to {url}: {response.status} {response.reason}"


# ---------------------------------------------------------------------------------------------------- pull

def resolve(reference, hosts, log):
    """Resolver.Resolve: (host, descriptor) for the reference's manifest or index."""
    repository = reference.path
    capabilities = PULL if reference.digest else PULL | RESOLVE
    candidates = [h for h in hosts if h.capabilities & capabilities == capabilities]
    if not candidates:
        raise PullError("no resolve hosts: not found", not_found=True)
    first_error, priority = None, 0
    ref = str(reference)
    for kind in (["manifests", "blobs"] if reference.digest else ["manifests"]):
        for host in candidates:
            path = _url_path(host, repository, kind, reference.object, namespace=reference.domain)
            try:
                response = request(host, "HEAD", path, RESOLVE_ACCEPT, log)
            except OSError as error:
                if priority < 1:
                    first_error, priority = PullError(str(error)), 1
                log(f'level=info msg="trying next host" error="{error}" host={host.host}')
                continue
            if response.status > 299:
                if response.status == 404:
                    if priority < 2:
                        first_error, priority = PullError(f"{ref}: not found", not_found=True), 2
                    continue
                if response.status > 399:
                    if priority < 3:
                        url = f"{host.scheme}://{host.host}{path}"
                        first_error, priority = PullError(_unexpected(response, "HEAD", url)), 3
                    continue
                raise PullError(_unexpected(response, "HEAD", f"{host.scheme}://{host.host}{path}"))
            media_type = response.header("content-type").split(";")[0].strip()
            digest = reference.digest or response.header("docker-content-digest")
            size = response.header("content-length")
            if not digest or not size:
                response = request(host, "GET", path, RESOLVE_ACCEPT, log)
                if response.status > 299:
                    raise PullError(_unexpected(response, "GET", f"{host.scheme}://{host.host}{path}"))
                media_type = response.header("content-type").split(";")[0].strip()
                if media_type == "text/plain":
                    media_type = MEDIA_DOCKER_SCHEMA1
                if media_type == MEDIA_DOCKER_SCHEMA1:
                    raise PullError(f'not implemented: media type "{MEDIA_DOCKER_SCHEMA1}" is no longer supported '
                                    "since containerd v2.0")
                digest = digest or "sha256:" + hashlib.sha256(response.body).hexdigest()
                size = len(response.body)
            if not _DIGEST.match(digest):
                raise PullError(f'"{digest}" in header not a valid digest')
            return host, {"mediaType": media_type, "digest": digest, "size": int(size)}
    raise first_error or PullError(f"{ref}: not found", not_found=True)


def fetch(reference, hosts, descriptor, log):
    """Fetcher.Fetch: the blob or manifest for a descriptor from the first pull host that has it, verified."""
    repository = reference.path
    digest = descriptor["digest"]
    is_manifest = descriptor.get("mediaType") in INDEXES + MANIFESTS
    accept = f"{descriptor['mediaType']}, */*" if descriptor.get("mediaType") else "*/*"
    candidates = [h for h in hosts if h.capabilities & PULL]
    if not candidates:
        raise PullError("no pull hosts: not found", not_found=True)
    first_error = None
    for host in candidates:
        kinds = ["manifests", "blobs"] if is_manifest else ["blobs"]
        for kind in kinds:
            path = _url_path(host, repository, kind, digest, namespace=reference.domain)
            url = f"{host.scheme}://{host.host}{path}"
            try:
                response = request(host, "GET", path, accept, log)
            except OSError as error:
                first_error = first_error or PullError(str(error))
                continue
            if response.status == 404:
                first_error = first_error or PullError(f"content at {url} not found: not found", not_found=True)
                continue
            if response.status > 299:
                first_error = first_error or PullError(_unexpected(response, "GET", url))
                continue
            actual = "sha256:" + hashlib.sha256(response.body).hexdigest()
            if actual != digest or ("size" in descriptor and len(response.body) != descriptor["size"]):
                raise PullError(f"failed commit on ref \"{digest}\": unexpected commit digest {actual}, "
                                f"expected {digest}: failed precondition")
            return response.body
    raise first_error or PullError(f"{digest}: not found", not_found=True)


def _json(body, what):
    try:
        return json.loads(body)
    except ValueError as error:
        raise PullError(f"failed to unmarshal {what}: {error}")


def pull(text, config_path, log=lambda line: None, auths=None):
    """Pulls an image like containerd's CRI PullImage: resolves, fetches the index, the linux/amd64 manifest,
    its config and layers (verified by digest). Returns the image record the CRI image store keeps.
    ``auths``: {host: (username, password)} from CRI's registry.configs, given to the host contacted (a mirror
    included) when it answers with a Basic challenge."""
    reference = parse_reference(text)
    ref = str(reference)
    try:
        hosts = registry_hosts(reference.domain, config_path, log)
        for host in hosts:
            host.auth = (auths or {}).get(host.host)
        try:
            _, target = resolve(reference, hosts, log)
        except PullError as error:
            raise PullError(f'failed to resolve reference "{ref}": {error}', error.not_found)
        try:
            manifest_descriptor, manifest = target, None
            body = fetch(reference, hosts, target, log)
            document = _json(body, "manifest")
            media_type = target["mediaType"] or document.get("mediaType", "")
            if media_type in INDEXES or "manifests" in document:
                matches = [m for m in document.get("manifests", [])
                           if (m.get("platform", {}).get("os"), m.get("platform", {}).get("architecture")) == PLATFORM]
                if not matches:
                    raise PullError("no match for platform in manifest: not found", not_found=True)
                manifest_descriptor = matches[0]
                manifest = _json(fetch(reference, hosts, manifest_descriptor, log), "manifest")
            else:
                manifest = document
            if "config" not in manifest or "layers" not in manifest:
                raise PullError(f"unexpected media type {manifest_descriptor.get('mediaType')} for "
                                f"{manifest_descriptor['digest']}: not found", not_found=True)
            config = _json(fetch(reference, hosts, manifest["config"], log), "image config")
            if (config.get("os"), config.get("architecture")) != PLATFORM:
                raise PullError(f"image config of {ref} is {config.get('os')}/{config.get('architecture')}, "
                                "not linux/amd64: not found", not_found=True)
            for layer in manifest["layers"]:
                fetch(reference, hosts, layer, log)
        except PullError as error:
            raise PullError(f"failed to copy: {error}", error.not_found)
    except PullError as error:
        raise PullError(f'failed to pull and unpack image "{ref}": {error}', error.not_found)
    size = manifest["config"]["size"] + sum(layer["size"] for layer in manifest["layers"])
    return {"name": ref, "repository": reference.name, "tag": reference.tag, "repoDigest": target["digest"],
            "id": manifest["config"]["digest"], "size": size, "mediaType": target["mediaType"]}


def describe_hosts(namespace, config_path):
    """The hosts a pull from ``namespace`` would try, for tests and debugging."""
    return [h.describe() for h in registry_hosts(namespace, config_path)]
