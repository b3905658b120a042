"""Stand-in for Gitea 1.26.4 (program ``gitea``, artifact gitea-1.26.4-linux-amd64), tests only.

    gitea --version | -v
    gitea [--config F] web [--config F] [--port P]
    gitea [--config F] admin user create [--config F] --username U --password P --email E [--admin]
          [--must-change-password[=BOOL]] [--restricted] [--access-token]
    gitea [--config F] admin user list [--config F] [--admin]

It reads app.ini as Gitea does ([DEFAULT] RUN_USER/WORK_PATH, [server], [database], [repository], [security],
[service], [oauth2]) and refuses what a locked, closed-network install cannot run with: INSTALL_LOCK not true
(the stand-in has no install page), SECRET_KEY or INTERNAL_TOKEN missing (real Gitea would fall back to a
well-known key or rewrite app.ini), an invalid JWT_SECRET, a database other than sqlite3, a non-loopback
HTTP_ADDR (the testbed never listens outside 127.0.0.0/8), running as root or as another user than RUN_USER
(as real Gitea; I_AM_BEING_UNSAFE_RUNNING_AS_ROOT=true allows root, the stand-ins' tests use it).
Data: sqlite at [database] PATH, bare repositories under [repository] ROOT (see gitea_db, gitea_api).
Every call is recorded (common.run); passwords and tokens never are: the argv recorded masks them.
"""

import base64
import configparser
import getpass
import ipaddress
import os
import pwd
import sys
import time
import urllib.parse

from . import common

VERSION = "1.26.4"
# the real binary's --version line (build tags of the upstream release)
VERSION_LINE = f"Gitea version {VERSION} built with GNU Make 4.4.1, go1.25.5 : bindata, sqlite, sqlite_unlock_notify"
SECRET_FLAGS = ("password", "p")


class Fatal(Exception):
    """A log.Fatal of Gitea's setting loader: printed as a [F] line, exit 1."""


def _bool(section, key, default, text):
    value = text.strip()
    if value == "":
        return default
    # Go's strconv.ParseBool; real Gitea silently reads anything else as the default, the stand-in refuses
    # so that a typo in a key the stacks rely on cannot pass unnoticed
    if value in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if value in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise Fatal(f"[{section}] {key} = {value!r} is not a boolean")


class Config:
    """The app.ini settings the stand-in uses, validated as a locked install needs them."""

    def __init__(self, path):
        self.path = path
        if not os.path.isfile(path):
            raise Fatal(f"Unable to load config file: {path}: no such file (the stand-in has no install page)")
        parser = configparser.ConfigParser(interpolation=None, strict=True, default_section="DEFAULT",
                                           delimiters=("=",), comment_prefixes=("#", ";"),
                                           inline_comment_prefixes=None)
        parser.optionxform = str  # keys are case-sensitive in go-ini
        try:
            with open(path) as f:
                text = f.read()
        except OSError as error:
            raise Fatal(f"Unable to load config file: {path}: {error.strerror}") from None
        try:
            # keys before the first section belong to the DEFAULT section, as in go-ini
            parser.read_string("[DEFAULT]\n" + text, source=path)
        except configparser.Error as error:
            raise Fatal(f"Failed to load config file {path}: {error}") from None
        self.parser = parser

        def get(section, key, default=""):
            if section == "DEFAULT":
                return parser.defaults().get(key, default).strip()
            if not parser.has_section(section):
                return default
            # not the DEFAULT fall-through of configparser: go-ini sections do not inherit root keys
            raw = parser._sections[section].get(key)  # noqa: SLF001 (configparser has no other way)
            return default if raw is None else raw.strip()

        self.get = get
        self.run_user = get("DEFAULT", "RUN_USER") or _current_user()
        self.app_name = get("DEFAULT", "APP_NAME", "Gitea: Git with a cup of tea")
        self.work_path = get("DEFAULT", "WORK_PATH") or os.environ.get("GITEA_WORK_DIR", "")
        if self.work_path and not os.path.isabs(self.work_path):
            raise Fatal(f"WORK_PATH = {self.work_path!r} must be an absolute path")

        self.install_lock = _bool("security", "INSTALL_LOCK", False, get("security", "INSTALL_LOCK"))
        if not self.install_lock:
            raise Fatal("[security] INSTALL_LOCK is not true: this Gitea is not installed (the stand-in has no "
                        "install page; a closed-network install writes a locked app.ini)")
        self.secret_key = get("security", "SECRET_KEY")
        if not self.secret_key:
            raise Fatal("[security] SECRET_KEY is empty: a locked install needs its own key (Gitea would fall back "
                        "to the well-known default key)")
        self.internal_token = get("security", "INTERNAL_TOKEN")
        if not self.internal_token:
            raise Fatal("[security] INTERNAL_TOKEN is empty: a locked install needs it (Gitea would try to "
                        "generate it and rewrite app.ini)")
        jwt = get("oauth2", "JWT_SECRET")
        if jwt:
            try:
                decoded = base64.urlsafe_b64decode(jwt + "=" * (-len(jwt) % 4))
            except ValueError:
                decoded = b""
            if len(decoded) != 32 or "=" in jwt:
                raise Fatal("invalid oauth2 JWT_SECRET: must be 32 bytes in unpadded base64url (gitea generate "
                            "secret JWT_SECRET)")
        self.disable_query_auth_token = _bool("security", "DISABLE_QUERY_AUTH_TOKEN", False,
                                              get("security", "DISABLE_QUERY_AUTH_TOKEN"))

        protocol = get("server", "PROTOCOL", "http")
        if protocol != "http":
            raise Fatal(f"[server] PROTOCOL = {protocol}: the stand-in serves http only")
        self.http_addr = get("server", "HTTP_ADDR", "0.0.0.0")
        port = get("server", "HTTP_PORT", "3000")
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise Fatal(f"[server] HTTP_PORT = {port!r} is not a port number")
        self.http_port = int(port)
        self.domain = get("server", "DOMAIN", "localhost")
        root_url = get("server", "ROOT_URL") or f"http://{self.domain}:{self.http_port}/"
        parsed = urllib.parse.urlsplit(root_url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise Fatal(f"[server] ROOT_URL = {root_url!r} is not a valid URL")
        if not root_url.endswith("/"):
            root_url += "/"  # as Gitea does
        self.root_url = root_url
        if parsed.path.rstrip("/"):
            raise Fatal(f"[server] ROOT_URL = {root_url!r}: the stand-in serves from the root path only")
        self.offline_mode = _bool("server", "OFFLINE_MODE", True, get("server", "OFFLINE_MODE"))
        self.disable_ssh = _bool("server", "DISABLE_SSH", False, get("server", "DISABLE_SSH"))
        self.ssh_domain = get("server", "SSH_DOMAIN") or parsed.hostname
        ssh_port = get("server", "SSH_PORT", "22")
        self.ssh_port = int(ssh_port) if ssh_port.isdigit() else 22
        self.app_data_path = self._path(get("server", "APP_DATA_PATH"), "data") if (
            get("server", "APP_DATA_PATH") or self.work_path) else ""

        db_type = get("database", "DB_TYPE")
        if db_type != "sqlite3":
            raise Fatal(f"[database] DB_TYPE = {db_type!r}: the stand-in keeps its data in sqlite3 only")
        self.db_path = self._path(get("database", "PATH"), "gitea.db", relative_to=self.app_data_path)
        self.repo_root = self._path(get("repository", "ROOT"), "gitea-repositories",
                                    relative_to=self.app_data_path)
        self.default_branch = get("repository", "DEFAULT_BRANCH", "main")
        self.push_create_user = _bool("repository", "ENABLE_PUSH_CREATE_USER", False,
                                      get("repository", "ENABLE_PUSH_CREATE_USER"))
        self.push_create_org = _bool("repository", "ENABLE_PUSH_CREATE_ORG", False,
                                     get("repository", "ENABLE_PUSH_CREATE_ORG"))
        if self.push_create_user or self.push_create_org:
            raise Fatal("[repository] ENABLE_PUSH_CREATE_*: push-to-create is not supported by the stand-in")
        self.disable_registration = _bool("service", "DISABLE_REGISTRATION", False,
                                          get("service", "DISABLE_REGISTRATION"))
        self.require_signin_view = _bool("service", "REQUIRE_SIGNIN_VIEW", False,
                                         get("service", "REQUIRE_SIGNIN_VIEW"))
        visibility = get("service", "DEFAULT_USER_VISIBILITY", "public")
        if visibility not in ("public", "limited", "private"):
            raise Fatal(f"[service] DEFAULT_USER_VISIBILITY = {visibility!r}: public, limited or private")
        self.default_user_visibility = visibility
        self.no_reply_address = get("service", "NO_REPLY_ADDRESS") or f"noreply.{self.domain}"
        self.min_password_length = int(get("security", "MIN_PASSWORD_LENGTH", "8") or 8)

    def _path(self, value, default_name, relative_to=""):
        base = relative_to or (os.path.join(self.work_path, "data") if self.work_path else "")
        if not value:
            if not base:
                raise Fatal(f"{default_name}: no path set and no WORK_PATH to put it under")
            return os.path.join(base, default_name)
        if os.path.isabs(value):
            return value
        if not base:
            raise Fatal(f"relative path {value!r} needs WORK_PATH (or an absolute path)")
        return os.path.join(base, value)

    def check_user(self):
        """modules/setting loadRunModeFrom: never root (unless told so), and only as RUN_USER."""
        if os.getuid() == 0 and os.environ.get("I_AM_BEING_UNSAFE_RUNNING_AS_ROOT", "").lower() not in ("true", "1"):
            raise Fatal("Gitea is not supposed to be run as root. Sorry. If you need to use privileged TCP ports "
                        "please instead use setcap and the `cap_net_bind_service` permission")
        current = _current_user()
        if self.run_user != current:
            raise Fatal(f"Expect user '{self.run_user}' but current user is: {current}")

    def check_bind(self):
        try:
            address = ipaddress.ip_address(self.http_addr)
        except ValueError:
            address = None
        if self.http_addr != "localhost" and (address is None or not address.is_loopback):
            raise Fatal(f"[server] HTTP_ADDR = {self.http_addr!r}: the stand-in listens on loopback addresses only "
                        "(testbed nodes are 127.0.X.N)")


def _current_user():
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return getpass.getuser()


def _fatal_line(message):
    stamp = time.strftime("%Y/%m/%d %H:%M:%S")
    return f"{stamp} ...dules/setting/setting.go:0:loadCommonSettingsFrom() [F] {message}"


class UsageError(Exception):
    pass


def _parse(args, flags):
    """urfave/cli v2 flag parsing: -f/--f, --f=v or --f v for strings, bools take only --f[=BOOL];
    parsing stops at the first argument that is not a flag."""
    values, rest = {}, list(args)
    while rest and rest[0].startswith("-") and rest[0] not in ("-", "--"):
        token = rest.pop(0)
        name, _, inline = token.lstrip("-").partition("=")
        if name not in flags:
            raise UsageError(f"flag provided but not defined: -{name}")
        if flags[name] == "bool":
            if inline == "" and "=" not in token:
                values[name] = True
            else:
                try:
                    values[name] = _bool("cli", name, None, inline)
                except Fatal:
                    raise UsageError(f'invalid boolean value "{inline}" for -{name}: parse error') from None
        else:
            if "=" in token:
                values[name] = inline
            elif rest:
                values[name] = rest.pop(0)
            else:
                raise UsageError(f"flag needs an argument: -{name}")
    if rest and rest[0] == "--":
        rest.pop(0)
    return values, rest


GLOBAL_FLAGS = {"config": "string", "c": "string", "custom-path": "string", "C": "string", "work-path": "string",
                "w": "string", "help": "bool", "h": "bool", "version": "bool", "v": "bool"}
CREATE_FLAGS = dict(GLOBAL_FLAGS, **{"name": "string", "username": "string", "password": "string",
                                     "email": "string", "admin": "bool", "random-password": "bool",
                                     "must-change-password": "bool", "random-password-length": "string",
                                     "access-token": "bool", "access-token-name": "string",
                                     "access-token-scopes": "string", "restricted": "bool"})
LIST_FLAGS = dict(GLOBAL_FLAGS, admin="bool")
# cmd/admin_user_change_password.go: --username/-u, --password/-p, --must-change-password (default true)
CHANGE_PASSWORD_FLAGS = dict(GLOBAL_FLAGS, **{"username": "string", "u": "string", "password": "string",
                                              "p": "string", "must-change-password": "bool"})
WEB_FLAGS = dict(GLOBAL_FLAGS, **{"port": "string", "p": "string", "install-port": "string", "pid": "string",
                                  "P": "string", "quiet": "bool", "q": "bool", "verbose": "bool"})


def masked(args):
    """argv for the call record, with every secret value replaced."""
    out, hide_next = [], False
    for arg in args:
        if hide_next:
            out.append("***")
            hide_next = False
            continue
        name, eq, _ = arg.lstrip("-").partition("=")
        if arg.startswith("-") and name in SECRET_FLAGS:
            if eq:
                out.append(arg.split("=", 1)[0] + "=***")
            else:
                out.append(arg)
                hide_next = True
            continue
        out.append(arg)
    return out


def main():
    args = sys.argv[1:]
    code = 0
    try:
        code = body(args) or 0
    except common.Refusal as refusal:
        print(f"gitea: {refusal}", file=sys.stderr)
        code = refusal.code
    except KeyboardInterrupt:
        code = 130
    common.record("gitea", masked(args), code)
    return code


def _config_path(*flag_sets):
    for values in flag_sets:
        for key in ("config", "c"):
            if values.get(key):
                return values[key]
    # Gitea's default: CustomPath/conf/app.ini, CustomPath = WorkPath/custom
    work = os.environ.get("GITEA_WORK_DIR") or os.path.dirname(os.path.abspath(sys.argv[0]))
    return os.path.join(work, "custom", "conf", "app.ini")


def body(args):
    if common.should_fail_once("gitea-" + next((a for a in args if not a.startswith("-")), "")) or \
            common.should_fail_once("gitea"):
        raise common.Refusal("injected failure (testbed fail-once marker for gitea)")
    try:
        global_values, rest = _parse(args, GLOBAL_FLAGS)
    except UsageError as error:
        print(f"Incorrect Usage: {error}", file=sys.stderr)
        return 1
    if global_values.get("version") or global_values.get("v"):
        print(VERSION_LINE)
        return 0
    if not rest or global_values.get("help") or global_values.get("h"):
        print(f"NAME:\n   gitea - A painless self-hosted Git service\n\nVERSION:\n   {VERSION}\n\n"
              "COMMANDS:\n   web      Start Gitea web server\n   admin    Perform common administrative operations")
        return 0
    command, rest = rest[0], rest[1:]
    try:
        if command == "web":
            return _web(global_values, rest)
        if command == "admin":
            return _admin(global_values, rest)
    except UsageError as error:
        print(f"Incorrect Usage: {error}", file=sys.stderr)
        return 1
    except Fatal as fatal:
        print(_fatal_line(fatal), file=sys.stderr)
        return 1
    print(f"No help topic for '{command}'", file=sys.stderr)
    return 3


def _admin(global_values, args):
    values, rest = _parse(args, GLOBAL_FLAGS)
    if not rest or rest[0] != "user":
        raise UsageError("the stand-in knows `gitea admin user create|list`")
    values2, rest = _parse(rest[1:], GLOBAL_FLAGS)
    if not rest or rest[0] not in ("create", "list", "change-password"):
        raise UsageError("the stand-in knows `gitea admin user create|list|change-password`")
    sub = rest[0]
    known = {"create": CREATE_FLAGS, "list": LIST_FLAGS, "change-password": CHANGE_PASSWORD_FLAGS}[sub]
    flags, positional = _parse(rest[1:], known)
    if positional:
        raise UsageError(f"unexpected arguments: {' '.join(positional)}")
    config = Config(_config_path(flags, values2, values, global_values))
    config.check_user()
    from . import gitea_db
    store = gitea_db.Store(config.db_path, config.repo_root)
    try:
        if sub == "create":
            return _create_user(config, store, flags)
        if sub == "change-password":
            return _change_password(config, store, flags)
        return _list_users(store, flags)
    finally:
        store.close()


def _command_error(message):
    # cmd/main.go RunMainApp prints a failed action's error so, exit 1
    print(f"Command error: {message}", file=sys.stderr)
    return 1


def _create_user(config, store, flags):
    from . import gitea_db
    if not flags.get("email"):
        return _command_error('"email" is not set')
    if "name" in flags and "username" in flags:
        return _command_error("Cannot set both --name and --username flags")
    if "name" not in flags and "username" not in flags:
        return _command_error("One of --name or --username flags must be set")
    if "password" in flags and "random-password" in flags:
        return _command_error("cannot set both -random-password and -password flags")
    username = flags.get("username", flags.get("name", ""))
    if "password" in flags:
        password = flags["password"]
    elif flags.get("random-password"):
        return _command_error("the stand-in does not generate random passwords: use --password")
    else:
        return _command_error("must set either password or random-password flag")
    if len(password) < config.min_password_length:
        return _command_error("CreateUser: password is too short")
    # the first user is never forced to change its password; otherwise the default is true
    must_change = bool(store.individuals())
    if "must-change-password" in flags:
        must_change = flags["must-change-password"]
    try:
        store.create_user(username, flags["email"], password, is_admin=bool(flags.get("admin")),
                          must_change_password=must_change,
                          visibility=gitea_db.VISIBILITY[config.default_user_visibility],
                          restricted=bool(flags.get("restricted")))
    except gitea_db.ModelError as error:
        return _command_error(f"CreateUser: {error}")
    if flags.get("access-token"):
        user = store.user(username)
        scope = gitea_db.normalize_scope((flags.get("access-token-scopes") or "all").split(","))
        _, token = store.create_token(user["id"], flags.get("access-token-name") or "gitea-admin", scope)
        print(f"Access token was successfully created... {token}")
    print(f"New user '{username}' has been successfully created!")
    return 0


def _change_password(config, store, flags):
    """cmd/admin_user_change_password.go: both flags required; the user must exist; the password must meet
    the length rule; must-change-password defaults to true, as upstream."""
    username = flags.get("username", flags.get("u"))
    password = flags.get("password", flags.get("p"))
    if not username or not password:
        return _command_error('Required flags "username, password" not set')
    user = store.user(username)
    if not user:
        return _command_error(f"user does not exist [uid: 0, name: {username}]")
    if len(password) < config.min_password_length:
        return _command_error("password is too short")
    store.set_password(user["id"], password, must_change_password=flags.get("must-change-password", True))
    print(f"{user['name']}'s password has been successfully updated!")
    return 0


def _tabwriter(rows, minwidth=5, padding=1):
    """Go's text/tabwriter(minwidth 5, tabwidth 0, padding 1, ' ', 0): every cell but the last of a line is
    padded to its column's width."""
    widths = {}
    for row in rows:
        for i, cell in enumerate(row[:-1]):
            widths[i] = max(widths.get(i, minwidth), len(cell) + padding)
    return "".join("".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])) + row[-1] + "\n"
                   for row in rows)


def _list_users(store, flags):
    users = store.individuals()
    if flags.get("admin"):
        rows = [["ID", "Username", "Email", "IsActive"]]
        rows += [[str(u["id"]), u["name"], u["email"], _go_bool(u["is_active"])] for u in users if u["is_admin"]]
    else:
        rows = [["ID", "Username", "Email", "IsActive", "IsAdmin", "2FA"]]
        rows += [[str(u["id"]), u["name"], u["email"], _go_bool(u["is_active"]), _go_bool(u["is_admin"]), "false"]
                 for u in users]
    sys.stdout.write(_tabwriter(rows))
    return 0


def _go_bool(value):
    return "true" if value else "false"


def _web(global_values, args):
    flags, rest = _parse(args, WEB_FLAGS)
    if rest:
        raise UsageError(f"unexpected arguments: {' '.join(rest)}")
    config = Config(_config_path(flags, global_values))
    port = flags.get("port") or flags.get("p")
    if port:
        if not port.isdigit():
            raise Fatal(f"invalid --port {port!r}")
        config.http_port = int(port)
    config.check_user()
    config.check_bind()
    from . import gitea_api
    return gitea_api.serve(config)


if __name__ == "__main__":
    sys.exit(main())
