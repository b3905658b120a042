"""The Gitea stand-in's web server: the REST API subset the GitOps stacks use, shaped as Gitea 1.26's
swagger.json defines it, and git smart HTTP through the real ``git http-backend``.

Authentication as routers/api/v1 and services/auth do it: Basic user:password, Basic with a token as the
password (or as the user with an empty password, as git clients send it), ``Authorization: token T`` or
``bearer T``, and the deprecated ``?token=`` / ``?access_token=`` (unless [security]
DISABLE_QUERY_AUTH_TOKEN); ``Sudo`` header / ``sudo`` parameter for admins. Route middlewares keep Gitea's
order (token scope → assignment → reqToken → permission → binding → handler), so the status for a refused
request is the one real Gitea gives: 401 "token is required" / "auth required", 403 for scopes, admin and
self-or-admin checks, 404 for what is missing or invisible, 409 for an existing repository, 422 for
validation and existing names, 400 for token errors (Gitea's own codes where swagger.json is silent).
Every request is recorded (method, path without query, status, user), never a credential.
"""

import base64
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import common
from . import gitea_db as db

API = "/api/v1"
LOCK = threading.RLock()
# setting.API.DefaultPagingNum / MaxResponseItems
DEFAULT_PAGE, MAX_PAGE = 30, 50


def go_time(unix):
    """A Go time.Time from a unix stamp as Gitea's JSON has it (UTC here, RFC 3339)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(unix))


ZERO_TIME = "0001-01-01T00:00:00Z"  # Go's zero time.Time


class Reply(Exception):
    """Stops a request with a status and a JSON (or text) body."""

    def __init__(self, status, body=None, text=None, headers=None):
        super().__init__(status)
        self.status, self.body, self.text, self.headers = status, body, text, headers or {}


# --- request binding: the option structs' field types (Go's json.Unmarshal refuses a wrong type) ---

OPTIONS = {
    "CreateUserOption": {"created_at": str, "email": str, "full_name": str, "login_name": str,
                         "must_change_password": bool, "password": str, "restricted": bool, "send_notify": bool,
                         "source_id": int, "username": str, "visibility": str},
    "CreateOrgOption": {"description": str, "email": str, "full_name": str, "location": str,
                        "repo_admin_change_team_access": bool, "username": str, "visibility": str, "website": str},
    "CreateRepoOption": {"auto_init": bool, "default_branch": str, "description": str, "gitignores": str,
                         "issue_labels": str, "license": str, "name": str, "object_format_name": str,
                         "private": bool, "readme": str, "template": bool, "trust_model": str},
    "CreateAccessTokenOption": {"name": str, "scopes": list},
    "AddCollaboratorOption": {"permission": str},
}
_GO_TYPES = {str: "string", bool: "bool", int: "int64", list: "[]string"}


class Server:
    def __init__(self, config):
        self.config = config
        self.store = db.Store(config.db_path, config.repo_root)
        os.makedirs(config.repo_root, exist_ok=True)
        self.swagger_url = config.root_url + "api/swagger"

    # --- JSON shapes (services/convert) ---

    def avatar(self, _row):
        # OFFLINE_MODE disables Gravatar: Gitea links its default avatar
        return self.config.root_url + "assets/img/avatar_default.png"

    def user_json(self, user, doer):
        signed = doer is not None
        authed = signed and (doer["id"] == user["id"] or doer["is_admin"])
        return {
            "id": user["id"], "login": user["name"], "login_name": user["login_name"] if authed else "",
            "source_id": 0, "full_name": user["full_name"],
            # anonymous callers see the placeholder address (KEEP_EMAIL_PRIVATE is off by default)
            "email": user["email"] if signed else f"{user['lower_name']}@{self.config.no_reply_address}",
            "avatar_url": self.avatar(user), "html_url": self.config.root_url + user["name"],
            "language": "", "is_admin": bool(user["is_admin"]) if authed else False,
            "last_login": go_time(user["last_login_unix"]) if authed else ZERO_TIME,
            "created": go_time(user["created_unix"]), "restricted": bool(user["restricted"]),
            "active": bool(user["is_active"]) if authed else False,
            "prohibit_login": bool(user["prohibit_login"]) if authed else False,
            "location": user["location"], "website": user["website"], "description": user["description"],
            "visibility": db.VISIBILITY_NAMES[user["visibility"]], "followers_count": 0, "following_count": 0,
            "starred_repos_count": 0,
        }

    def org_json(self, org):
        return {
            "id": org["id"], "name": org["name"], "full_name": org["full_name"], "email": org["email"],
            "avatar_url": self.avatar(org), "description": org["description"], "website": org["website"],
            "location": org["location"], "visibility": db.VISIBILITY_NAMES[org["visibility"]],
            "repo_admin_change_team_access": bool(org["repo_admin_change_team_access"]), "username": org["name"],
        }

    def git(self, path, *args):
        return subprocess.run(["git", "--git-dir", path, *args], capture_output=True, text=True, check=False)

    def repo_json(self, repo, doer):
        owner = self.store.user_by_id(repo["owner_id"])
        path = self.store.repo_path(owner["name"], repo["name"])
        heads = [h for h in self.git(path, "for-each-ref", "--format=%(refname)", "refs/heads").stdout.split() if h]
        size = 0
        for directory, _, files in os.walk(path):
            size += sum(os.path.getsize(os.path.join(directory, f)) for f in files)
        mode = self.store.permission(repo, doer)
        full = f"{owner['name']}/{repo['name']}"
        cfg = self.config
        ssh_user = cfg.run_user
        ssh_url = (f"{ssh_user}@{cfg.ssh_domain}:{full}.git" if cfg.ssh_port == 22
                   else f"ssh://{ssh_user}@{cfg.ssh_domain}:{cfg.ssh_port}/{full}.git")
        return {
            "id": repo["id"], "owner": self.user_json(owner, doer) if owner["type"] == db.USER
            else self._org_as_user(owner, doer), "name": repo["name"], "full_name": full,
            "description": repo["description"], "empty": not heads, "private": bool(repo["is_private"]),
            "fork": False, "template": bool(repo["is_template"]), "mirror": False, "size": size // 1024,
            "language": "", "languages_url": f"{cfg.root_url}api/v1/repos/{full}/languages",
            "html_url": cfg.root_url + full, "url": f"{cfg.root_url}api/v1/repos/{full}", "link": "",
            "ssh_url": ssh_url, "clone_url": f"{cfg.root_url}{full}.git", "original_url": "",
            "website": repo["website"], "stars_count": 0, "forks_count": 0, "watchers_count": 1,
            "open_issues_count": 0, "open_pr_counter": 0, "release_counter": 0,
            "default_branch": repo["default_branch"], "archived": False,
            "created_at": go_time(repo["created_unix"]), "updated_at": go_time(repo["updated_unix"]),
            "archived_at": go_time(0),
            "permissions": {"admin": mode >= db.ADMIN, "push": mode >= db.WRITE, "pull": mode >= db.READ},
            "has_code": True, "has_issues": True,
            "internal_tracker": {"enable_time_tracker": True, "allow_only_contributors_to_track_time": True,
                                 "enable_issue_dependencies": True},
            "has_wiki": True, "has_pull_requests": True, "has_projects": True, "projects_mode": "all",
            "has_releases": True, "has_packages": True, "has_actions": True, "ignore_whitespace_conflicts": False,
            "allow_merge_commits": True, "allow_rebase": True, "allow_rebase_explicit": True,
            "allow_squash_merge": True, "allow_fast_forward_only_merge": True, "allow_rebase_update": True,
            "allow_manual_merge": False, "autodetect_manual_merge": False,
            "default_delete_branch_after_merge": False, "default_merge_style": "merge",
            "default_allow_maintainer_edit": False, "default_update_style": "merge",
            "default_target_branch": repo["default_branch"], "avatar_url": "", "internal": False,
            "mirror_interval": "", "object_format_name": repo["object_format"], "mirror_updated": ZERO_TIME,
            "topics": [], "licenses": [], "branch_count": len(heads),
        }

    def _org_as_user(self, org, doer):
        # convert.ToRepo gives an organization owner as a User (ToUserWithAccessMode); like real Gitea it
        # shows an organization without an e-mail as "" to a signed-in caller (which swagger's format: email
        # does not allow: the stacks give organizations an e-mail)
        return {
            "id": org["id"], "login": org["name"], "login_name": "", "source_id": 0, "full_name": org["full_name"],
            "email": org["email"] if doer is not None else f"{org['lower_name']}@{self.config.no_reply_address}", "avatar_url": self.avatar(org), "html_url": self.config.root_url + org["name"],
            "language": "", "is_admin": False, "last_login": ZERO_TIME, "created": go_time(org["created_unix"]),
            "restricted": False, "active": False, "prohibit_login": False, "location": org["location"],
            "website": org["website"], "description": org["description"],
            "visibility": db.VISIBILITY_NAMES[org["visibility"]], "followers_count": 0, "following_count": 0,
            "starred_repos_count": 0,
        }

    def token_json(self, row, token=""):
        return {"id": row["id"], "name": row["name"], "sha1": token, "token_last_eight": row["token_last_eight"],
                "scopes": row["scope"].split(",") if row["scope"] else [],
                "created_at": go_time(row["created_unix"]), "last_used_at": go_time(row["updated_unix"])}

    # --- errors ---

    def error(self, status, message):
        return Reply(status, {"message": message, "url": self.swagger_url})

    def not_found(self, *errors):
        return Reply(404, {"errors": list(errors) or None, "message": "The target couldn't be found.",
                           "url": self.swagger_url})


class Request:
    """One API request: who is calling and how (the data Gitea's APIContext carries)."""

    def __init__(self, method, path, query, headers, body):
        self.method, self.path, self.query, self.headers, self.body = method, path, query, headers, body
        self.doer = None
        self.is_basic = False
        self.token_scope = None  # the scope string when a token authenticated the request


def authenticate(server, request, allow_query=True):
    """services/auth: the methods in Gitea's order; a wrong password is a 401, an unknown token anonymous."""
    store = server.store
    header = request.headers.get("Authorization", "")
    kind, _, value = header.strip().partition(" ")
    value = value.strip()
    token = None
    if kind.lower() in ("token", "bearer") and value:
        token = value
    elif allow_query and not server.config.disable_query_auth_token:
        token = (request.query.get("token") or request.query.get("access_token") or [None])[0]
    if token:
        row = store.token_by_value(token)
        if row:
            request.doer = store.user_by_id(row["uid"])
            request.token_scope = row["scope"]
        return
    if kind.lower() == "basic" and value:
        try:
            user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            raise server.error(401, "invalid basic authentication") from None
        # a token may stand in the password (or in the user name with an empty or x-oauth-basic password)
        candidate = user if password in ("", "x-oauth-basic") else password
        row = store.token_by_value(candidate)
        if row:
            request.doer = store.user_by_id(row["uid"])
            request.token_scope = row["scope"]
            request.is_basic = True
            return
        found = store.user(user)
        if found is None or found["type"] != db.USER:
            raise server.error(401, f"user does not exist [uid: 0, name: {user}]")
        if not store.check_password(found, password):
            raise server.error(401, f"user's password is invalid [uid: {found['id']}, name: {found['name']}]")
        request.doer = found
        request.is_basic = True
        store.touch_login(found["id"])


def require_scopes(server, request, *categories):
    """tokenRequiresScopes: a token needs read:CAT for GET, write:CAT for POST/PUT/PATCH/DELETE."""
    if request.token_scope is None:
        return
    level = "write" if request.method in ("POST", "PUT", "PATCH", "DELETE") else "read"
    required = [f"{level}:{c}" for c in categories]
    if not db.scope_has(request.token_scope, required):
        # Go's %v of a slice: [write:user read:user]
        raise server.error(403, "token does not have at least one of required scope(s), "
                                f"required=[{' '.join(required)}], token scope={request.token_scope}")


def req_token(server, request):
    if request.doer is None:
        raise server.error(401, "token is required")


def req_site_admin(server, request):
    if not (request.doer and request.doer["is_admin"]):
        raise server.error(403, "user should be the site admin")


def bind(server, request, option, required=()):
    """Gitea's API binding: JSON or form body into the option struct, then the binding rules → 422."""
    content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
    fields = OPTIONS[option]
    if content_type == "application/json":
        try:
            data = json.loads(request.body or b"null")
        except (ValueError, UnicodeDecodeError) as error:
            raise server.error(422, f"[]: {error}") from None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise server.error(422, f"[]: json: cannot unmarshal {type(data).__name__} into Go value of type "
                                    f"structs.{option}")
        for key, value in data.items():
            expected = fields.get(key)
            if expected is None or value is None:
                continue
            ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
            if expected is list:
                ok = ok and all(isinstance(v, str) for v in value)
            if not ok:
                raise server.error(422, f"[]: json: cannot unmarshal {type(value).__name__} into Go struct field "
                                        f"{option}.{key} of type {_GO_TYPES[expected]}")
    elif content_type == "application/x-www-form-urlencoded":
        # curl -d without a JSON Content-Type lands here: form fields are named after the Go fields
        # (UserName, Email, ...), so a JSON body gives empty fields, as with real Gitea
        form = urllib.parse.parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)
        data = {}
        for key, go_name in ((k, k.replace("_", "")) for k in fields):
            for form_key, values in form.items():
                if form_key.lower() == go_name.lower():
                    raw = values[0]
                    data[key] = (raw.lower() in ("1", "true", "on")) if fields[key] is bool else (
                        values if fields[key] is list else raw)
    elif not request.body:
        data = {}
    else:
        raise server.error(422, "[]: Unsupported Content-Type")
    for name, label in required:
        if not data.get(name):
            raise server.error(422, f"[{label}]: Required")
    return data


def _page(request, items):
    def number(key, default):
        try:
            return int(request.query.get(key, [default])[0])
        except ValueError:
            return default
    page = max(number("page", 1), 1)
    limit = number("limit", DEFAULT_PAGE)
    limit = DEFAULT_PAGE if limit <= 0 else min(limit, MAX_PAGE)
    return items[(page - 1) * limit: page * limit], {"X-Total-Count": str(len(items))}


# --- API handlers ---

def route(server, request):
    """Dispatches /api/v1/...; returns (status, body, headers)."""
    store = server.store
    path = request.path[len(API):] or "/"
    method = request.method
    parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")] if path.strip("/") else []

    def methods(*allowed):
        if method not in allowed:
            raise Reply(405, text="Method Not Allowed", headers={"Allow": ", ".join(allowed)})

    if parts == ["version"]:
        methods("GET")
        return 200, {"version": "1.26.4"}, {}

    if parts == ["user"]:
        methods("GET")
        require_scopes(server, request, "user")
        req_token(server, request)
        return 200, server.user_json(request.doer, request.doer), {}

    if len(parts) >= 2 and parts[0] == "users":
        require_scopes(server, request, "user")
        user = store.user(parts[1])
        if user is None:
            raise server.not_found(f"user redirect does not exist [name: {parts[1]}]")
        if len(parts) == 2:
            methods("GET")
            if server.config.require_signin_view and request.doer is None:
                raise server.error(401, "you must be signed in to search for users")
            if not visible(server, user, request.doer):
                raise server.not_found()
            if user["type"] == db.ORGANIZATION:
                return 200, server._org_as_user(user, request.doer), {}  # an organization is a user too
            return 200, server.user_json(user, request.doer), {}
        if parts[2] == "tokens" and len(parts) in (3, 4):
            methods("GET", "POST") if len(parts) == 3 else methods("DELETE")
            # reqSelfOrAdmin, then reqBasicOrRevProxyAuth: tokens are managed with a password only
            if not (request.doer and (request.doer["is_admin"] or request.doer["id"] == user["id"])):
                raise server.error(403, "doer should be the site admin or be same as the contextUser")
            if not request.is_basic:
                raise server.error(401, "auth required")
            if len(parts) == 3:
                return tokens(server, request, user)
            return delete_token(server, request, user, parts[3])
        raise server.not_found()

    if parts and parts[0] == "orgs":
        require_scopes(server, request, "organization")
        if len(parts) == 1:
            methods("GET", "POST")
            if method == "GET":
                orgs = [o for o in store.organizations() if visible(server, o, request.doer)]
                page, headers = _page(request, orgs)
                return 200, [server.org_json(o) for o in page], headers
            req_token(server, request)
            return create_org(server, request)
        org = store.user(parts[1])
        if org is None or org["type"] != db.ORGANIZATION:
            raise server.not_found()
        if len(parts) == 2:
            methods("GET")
            if not visible(server, org, request.doer):
                raise server.not_found()
            return 200, server.org_json(org), {}
        if len(parts) == 3 and parts[2] == "repos":
            methods("GET", "POST")
            if method == "GET":
                if not visible(server, org, request.doer):
                    raise server.not_found()
                repos = [r for r in store.repos_of(org["id"]) if store.permission(r, request.doer) >= db.READ]
                page, headers = _page(request, repos)
                return 200, [server.repo_json(r, request.doer) for r in page], headers
            req_token(server, request)
            return create_org_repo(server, request, org)
        raise server.not_found()

    if len(parts) >= 3 and parts[0] == "repos":
        require_scopes(server, request, "repository")
        owner = store.user(parts[1])
        if owner is None:
            raise server.not_found(f"user redirect does not exist [name: {parts[1]}]")
        repo = store.repo(owner["id"], parts[2])
        if repo is None:
            raise server.not_found()
        mode = store.permission(repo, request.doer)
        if mode < db.READ:
            raise server.not_found()
        if len(parts) == 3:
            methods("GET")
            return 200, server.repo_json(repo, request.doer), {}
        if parts[3] == "collaborators" and len(parts) == 5:
            methods("GET", "PUT", "DELETE")
            req_token(server, request)
            if method != "GET" and mode < db.ADMIN:
                raise server.error(403, "user should be an owner or a collaborator with admin write of a repository")
            return collaborator(server, request, repo, parts[4])
        raise server.not_found()

    if parts[:2] == ["admin", "users"] and len(parts) == 2:
        methods("GET", "POST")
        require_scopes(server, request, "admin")
        req_token(server, request)
        req_site_admin(server, request)
        if method == "GET":
            return search_users(server, request)
        return admin_create_user(server, request)

    raise server.not_found()


def visible(server, owner, doer):
    """organization.HasOrgOrUserVisible: public to all, limited to signed-in users, private to members."""
    if owner["visibility"] == 0:
        return True
    if doer is None:
        return False
    if owner["visibility"] == 1 or doer["is_admin"] or doer["id"] == owner["id"]:
        return True
    return server.store.is_org_owner(owner["id"], doer["id"])


def tokens(server, request, user):
    store = server.store
    if request.method == "GET":
        page, headers = _page(request, store.tokens(user["id"]))
        return 200, [server.token_json(t) for t in page], headers
    data = bind(server, request, "CreateAccessTokenOption", required=[("name", "Name")])
    if any(t["name"] == data["name"] for t in store.tokens(user["id"])):
        raise server.error(400, "access token name has been used already")
    try:
        scope = db.normalize_scope(data.get("scopes") or [])
    except db.ModelError as error:
        raise server.error(400, f"invalid access token scope provided: {error}") from None
    if not scope or scope == "public-only":
        raise server.error(400, "access token must have a scope")
    row, token = store.create_token(user["id"], data["name"], scope)
    return 201, server.token_json(row, token), {}


def delete_token(server, request, user, ident):
    store = server.store
    rows = store.tokens(user["id"])
    try:
        token_id = int(ident, 0)
    except ValueError:
        token_id = 0
    if token_id == 0:
        matches = [t for t in rows if t["name"] == ident]
        if len(matches) > 1:
            raise server.error(422, f"multiple matches for token name '{ident}'")
    else:
        matches = [t for t in rows if t["id"] == token_id]
    if not matches:
        raise server.not_found()
    store.delete_token(matches[0]["id"])
    return 204, None, {}


def _visibility(server, data, field="Visibility"):
    value = data.get("visibility") or ""
    if value not in ("", "public", "limited", "private"):
        raise server.error(422, f"[{field}]: In")
    return value


def _check_name_binding(server, data, key, label, max_size=40):
    name = data.get(key, "")
    if len(name) > max_size:
        raise server.error(422, f"[{label}]: MaxSize")
    if not re.fullmatch(r"[\da-zA-Z][-.\w]*", name, re.ASCII) or re.search(r"[-._]{2,}|[-._]$", name):
        raise server.error(422, f"[{label}]: invalid username")


def admin_create_user(server, request):
    data = bind(server, request, "CreateUserOption", required=[("username", "Username"), ("email", "Email")])
    _check_name_binding(server, data, "username", "Username")
    if not re.fullmatch(r"[^@\s]+@[^@\s]+", data["email"]) or len(data["email"]) > 254:
        raise server.error(422, "[Email]: Email")
    visibility = _visibility(server, data)
    password = data.get("password") or ""
    if data.get("source_id"):
        raise server.error(422, "the stand-in has no authentication sources: source_id must be 0")
    if len(password) < server.config.min_password_length:
        raise server.error(400, "PasswordIsRequired")
    # the API forces a password change unless must_change_password is false (the CLI does not for the first user)
    must_change = data.get("must_change_password")
    try:
        user = server.store.create_user(
            data["username"], data["email"], password, must_change_password=True if must_change is None else must_change,
            full_name=data.get("full_name") or "",
            visibility=db.VISIBILITY[visibility or server.config.default_user_visibility],
            restricted=bool(data.get("restricted")), login_name=data.get("login_name") or "")
    except db.ModelError as error:
        raise server.error(422, str(error)) from None
    return 201, server.user_json(user, request.doer), {}


def search_users(server, request):
    users = server.store.individuals()
    q = (request.query.get("q") or [""])[0].lower()
    login = (request.query.get("login_name") or [""])[0]
    if q:
        users = [u for u in users if q in u["lower_name"] or q in u["lower_email"] or q in u["full_name"].lower()]
    if login:
        users = [u for u in users if u["login_name"] == login]
    page, headers = _page(request, users)
    return 200, [server.user_json(u, request.doer) for u in page], headers


def create_org(server, request):
    data = bind(server, request, "CreateOrgOption", required=[("username", "UserName")])
    _check_name_binding(server, data, "username", "UserName")
    visibility = _visibility(server, data)
    doer = request.doer
    if doer["restricted"]:
        raise server.error(403, "Create organization not allowed")
    try:
        org = server.store.create_org(
            data["username"], doer["id"], full_name=data.get("full_name") or "", email=data.get("email") or "",
            description=data.get("description") or "", website=data.get("website") or "",
            location=data.get("location") or "", visibility=db.VISIBILITY[visibility or "public"],
            repo_admin_change_team_access=bool(data.get("repo_admin_change_team_access")))
    except db.ModelError as error:
        raise server.error(422, str(error)) from None
    return 201, server.org_json(org), {}


def create_org_repo(server, request, org):
    data = bind(server, request, "CreateRepoOption", required=[("name", "Name")])
    name = data["name"]
    if not re.fullmatch(r"[\w.-]+", name, re.ASCII):
        raise server.error(422, "[Name]: AlphaDashDot")
    if len(name) > 100:
        raise server.error(422, "[Name]: MaxSize")
    if len(data.get("description") or "") > 2048:
        raise server.error(422, "[Description]: MaxSize")
    if (data.get("trust_model") or "") not in ("", "default", "collaborator", "committer", "collaboratorcommitter"):
        raise server.error(422, "[TrustModel]: In")
    object_format = data.get("object_format_name") or "sha1"
    if object_format not in ("sha1", "sha256"):
        raise server.error(422, "[ObjectFormatName]: In")
    branch = data.get("default_branch") or server.config.default_branch
    if subprocess.run(["git", "check-ref-format", "--branch", branch], capture_output=True).returncode != 0:
        raise server.error(422, "[DefaultBranch]: GitRefName")
    for field in ("gitignores", "license", "issue_labels"):
        if data.get(field):
            # real Gitea applies its templates; the stand-in has none, so it refuses rather than ignore them
            raise server.error(422, f"the stand-in has no {field} templates")
    readme = data.get("readme") or ""
    if data.get("auto_init") and readme not in ("", "Default"):
        raise server.error(422, f"the stand-in has only the Default readme template, not {readme!r}")
    doer = request.doer
    if not doer["is_admin"] and not server.store.is_org_owner(org["id"], doer["id"]):
        raise server.error(403, f"Given user is not allowed to create repository in organization {org['name']}.")

    def init(path, row):
        init_bare(path, branch, object_format)
        if data.get("auto_init"):
            initial_commit(path, branch, row["name"], row["description"], doer)

    try:
        repo = server.store.create_repo(org, name, description=data.get("description") or "",
                                        private=bool(data.get("private")), template=bool(data.get("template")),
                                        default_branch=branch, object_format=object_format, init=init)
    except db.ModelError as error:
        if error.kind == "repo-exists":
            raise server.error(409, str(error)) from None
        raise server.error(422, str(error)) from None
    return 201, server.repo_json(repo, doer), {}


def init_bare(path, branch, object_format):
    if os.path.exists(path):
        raise db.ModelError("repo-exists", "The repository with the same name already exists.")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    subprocess.run(["git", "init", "--bare", "--quiet", f"--initial-branch={branch}",
                    f"--object-format={object_format}", path], check=True, capture_output=True)


def initial_commit(path, branch, name, description, doer):
    """auto_init with the Default readme: "# NAME\\n\\nDESCRIPTION", committed by the creator."""
    env = dict(os.environ, GIT_DIR=path, GIT_AUTHOR_NAME=doer["name"], GIT_AUTHOR_EMAIL=doer["email"],
               GIT_COMMITTER_NAME=doer["name"], GIT_COMMITTER_EMAIL=doer["email"])
    content = f"# {name}\n\n{description}\n" if description else f"# {name}\n\n"

    def git(*args, stdin=None):
        return subprocess.run(["git", *args], input=stdin, env=env, capture_output=True, text=True,
                              check=True).stdout.strip()
    blob = git("hash-object", "-w", "--stdin", stdin=content)
    tree = git("mktree", stdin=f"100644 blob {blob}\tREADME.md\n")
    commit = git("commit-tree", tree, "-m", "Initial commit")
    git("update-ref", f"refs/heads/{branch}", commit)


def collaborator(server, request, repo, name):
    store = server.store
    user = store.user(name)
    if user is None or user["type"] != db.USER:
        raise server.error(422, f"user does not exist [uid: 0, name: {name}]")
    if request.method == "GET":
        if store.collaboration(repo["id"], user["id"]) is None:
            raise server.not_found()
        return 204, None, {}
    if request.method == "DELETE":
        store.delete_collaboration(repo["id"], user["id"])
        return 204, None, {}
    data = bind(server, request, "AddCollaboratorOption")
    permission = data.get("permission")
    if permission is not None and permission not in db.PERMISSION_MODES:
        raise server.error(422, "[Permission]: In")
    store.set_collaboration(repo["id"], user["id"], db.PERMISSION_MODES[permission or "write"])
    return 204, None, {}


def check_signed_in_user(server, request):
    """verifyAuthWithOptions for the API: a signed-in user must be allowed to work."""
    doer = request.doer
    if doer is None:
        return
    if not doer["is_active"] or doer["prohibit_login"]:
        raise Reply(403, {"message": "This account is prohibited from signing in, please contact your site "
                                     "administrator."})
    if doer["must_change_password"]:
        raise Reply(403, {"message": "You must change your password. Change it at: "
                                     f"{server.config.root_url}user/change_password"})


def apply_sudo(server, request):
    name = (request.query.get("sudo") or [""])[0] or request.headers.get("Sudo", "")
    if not name:
        return
    if not (request.doer and request.doer["is_admin"]):
        raise Reply(403, {"message": "Only administrators allowed to sudo."})
    user = server.store.user(name)
    if user is None:
        raise server.not_found()
    request.doer = user


# --- git smart HTTP ---

GIT_PATH = re.compile(r"^/([^/]+)/([^/]+?)(?:\.git)?/(info/refs|git-upload-pack|git-receive-pack)$")


def git_access(server, request, owner_name, repo_name, service):
    """routers/web/repo/githttp.go httpBase: public pulls need nothing; everything else a signed-in user
    (else 401 with the Basic challenge) whose token scope and repository permission allow the operation."""
    store = server.store
    owner = store.user(owner_name)
    if owner is None:
        raise Reply(404, text="Not found.\n")
    repo = store.repo(owner["id"], repo_name)
    is_pull = service == "git-upload-pack"
    public_pull = repo is not None and is_pull and store.permission(repo, None) >= db.READ
    if public_pull and not server.config.require_signin_view:
        return repo, None
    if request.doer is None:
        raise Reply(401, text="Unauthorized\n", headers={"WWW-Authenticate": 'Basic realm="Gitea"'})
    if request.token_scope is not None:
        needed = "read:repository" if is_pull else "write:repository"
        if not db.scope_has(request.token_scope, [needed]):
            raise Reply(403, text="Forbidden\n")
    doer = request.doer
    if not doer["is_active"] or doer["prohibit_login"]:
        raise Reply(403, text="Your account is disabled.\n")
    if repo is not None:
        if store.permission(repo, doer) < (db.READ if is_pull else db.WRITE):
            raise Reply(404, text="Repository not found\n")
        return repo, doer
    if is_pull:
        raise Reply(404, text="Repository not found\n")
    # push-to-create is off (the stand-in refuses ENABLE_PUSH_CREATE_*), as Gitea says it
    if owner["type"] == db.ORGANIZATION:
        raise Reply(403, text="Push to create is not enabled for organizations.\n")
    raise Reply(403, text="Push to create is not enabled for users.\n")


def git_backend(server, request, repo, doer, subpath):
    """Runs git http-backend (CGI) for the repository and returns (status, headers, body)."""
    owner = server.store.user_by_id(repo["owner_id"])
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GIT_PROJECT_ROOT": server.config.repo_root,
        "PATH_INFO": f"/{owner['lower_name']}/{repo['lower_name']}.git/{subpath}", "GIT_HTTP_EXPORT_ALL": "1",
        "REQUEST_METHOD": request.method, "QUERY_STRING": urllib.parse.urlencode(request.query, doseq=True),
        "CONTENT_TYPE": request.headers.get("Content-Type", ""), "CONTENT_LENGTH": str(len(request.body)),
        "REMOTE_ADDR": "127.0.0.1", "HOME": tempfile.gettempdir(),
        "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null",
    }
    if doer is not None:
        env["REMOTE_USER"] = doer["name"]
    if request.headers.get("Git-Protocol"):
        env["GIT_PROTOCOL"] = request.headers["Git-Protocol"]
    if request.headers.get("Content-Encoding"):
        env["HTTP_CONTENT_ENCODING"] = request.headers["Content-Encoding"]
    done = subprocess.run(["git", "http-backend"], input=request.body, env=env, capture_output=True,
                          check=False)
    head, _, body = done.stdout.partition(b"\r\n\r\n")
    if not _:
        head, _, body = done.stdout.partition(b"\n\n")
    status, headers = 200, {}
    for line in head.decode("latin-1").splitlines():
        key, _, value = line.partition(":")
        if key.lower() == "status":
            status = int(value.strip().split()[0])
        elif key:
            headers[key.strip()] = value.strip()
    if done.returncode != 0 and not done.stdout:
        return 500, {"Content-Type": "text/plain"}, done.stderr
    return status, headers, body


# --- the HTTP server ---

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Gitea-stand-in"
    sys_version = ""
    app = None  # the Server, set by serve()

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        sys.stderr.write("%s [I] %s\n" % (time.strftime("%Y/%m/%d %H:%M:%S"), format % args))

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self):
        app = self.app
        parsed = urllib.parse.urlsplit(self.path)
        body = self._read_body()
        request = Request(self.command, parsed.path, urllib.parse.parse_qs(parsed.query, keep_blank_values=True),
                          self.headers, body)
        status, payload, headers, raw = 500, None, {}, None
        try:
            git = GIT_PATH.match(parsed.path)
            if parsed.path.startswith(API + "/") or parsed.path == API:
                with LOCK:
                    authenticate(app, request)
                    check_signed_in_user(app, request)
                    apply_sudo(app, request)
                    status, payload, headers = route(app, request)
            elif git:
                owner, repo_name, subpath = git.groups()
                service = subpath if subpath != "info/refs" else (request.query.get("service") or [""])[0]
                if service not in ("git-upload-pack", "git-receive-pack"):
                    # smart HTTP only: the dumb protocol is not served, as in Gitea with the stand-in's settings
                    raise Reply(403, text="Unsupported service\n")
                if self.command != ("GET" if subpath == "info/refs" else "POST"):
                    raise Reply(405, text="Method Not Allowed\n")
                with LOCK:
                    authenticate(app, request, allow_query=False)
                    repo, doer = git_access(app, request, owner, repo_name, service)
                status, headers, raw = git_backend(app, request, repo, doer, subpath)
                if subpath == "git-receive-pack" and status == 200:
                    with LOCK:
                        app.store.db.execute("UPDATE repository SET updated_unix = ? WHERE id = ?",
                                             (int(time.time()), repo["id"]))
            elif parsed.path == "/api/healthz":
                status, payload = 200, {"status": "pass", "description": app.config.app_name,
                                        "checks": {"database:ping": [{"status": "pass", "time": go_time(time.time())}]}}
                headers = {"Content-Type": "application/health+json"}
            else:
                raise Reply(404, text="Not found.\n")
        except Reply as reply:
            status, payload, headers = reply.status, reply.body, reply.headers
            raw = reply.text.encode() if reply.text is not None else None
            if raw is not None:
                headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        except Exception as error:  # a bug in the stand-in: a 500 like Gitea's, and the trace on stderr
            import traceback
            traceback.print_exc()
            status, payload, headers = 500, {"message": f"stand-in error: {error}", "url": app.swagger_url}, {}
        if raw is None and payload is not None:
            raw = json.dumps(payload).encode()
            headers.setdefault("Content-Type", "application/json;charset=utf-8")
        raw = raw or b""
        self.send_response(status)
        self.send_header("X-Content-Type-Options", "nosniff")
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(raw)
        user = request.doer["name"] if request.doer is not None else ""
        common.record("gitea", ["web", "request"], 0, method=self.command, path=parsed.path, status=status,
                      user=user, auth=("token" if request.token_scope is not None else
                                       "basic" if request.is_basic else "none"))

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle


def serve(config):
    app = Server(config)
    Handler.app = app
    try:
        httpd = ThreadingHTTPServer((config.http_addr, config.http_port), Handler)
    except OSError as error:
        print(f"{time.strftime('%Y/%m/%d %H:%M:%S')} cmd/web.go:0:listen() [F] Failed to start server: listen tcp "
              f"{config.http_addr}:{config.http_port}: {error.strerror}", file=sys.stderr)
        return 1
    httpd.daemon_threads = True
    stop = threading.Event()

    def terminate(signum, _frame):
        stop.set()
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, terminate)
    stamp = time.strftime("%Y/%m/%d %H:%M:%S")
    print(f"{stamp} cmd/web.go:0:runWeb() [I] Starting Gitea on PID: {os.getpid()}", file=sys.stderr)
    print(f"{stamp} cmd/web.go:0:runWeb() [I] Gitea version: 1.26.4 (islet testbed stand-in)", file=sys.stderr)
    print(f"{stamp} cmd/web.go:0:runWeb() [I] AppURL(ROOT_URL): {config.root_url}", file=sys.stderr)
    print(f"{stamp} cmd/web.go:0:listen() [I] Listen: http://{config.http_addr}:{config.http_port}", file=sys.stderr,
          flush=True)
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        httpd.server_close()
        app.store.close()
    print(f"{time.strftime('%Y/%m/%d %H:%M:%S')} cmd/web.go:0:runWeb() [I] PID: {os.getpid()} Gitea Web Finished",
          file=sys.stderr)
    return 0
