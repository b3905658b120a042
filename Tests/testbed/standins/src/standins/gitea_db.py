"""The Gitea stand-in's data: users, organizations, repositories, collaborations and access tokens in one
sqlite database at [database] PATH (python's sqlite3), as real Gitea keeps them, so they survive a restart
and a kill (every change is one committed transaction).

Validation follows Gitea's models (models/user, models/db/name.go, models/auth/access_token*.go): the same
reserved names and patterns, the same username and e-mail rules, the same error texts. Passwords are stored
as pbkdf2-sha256 hashes with a per-user salt and tokens as pbkdf2 hashes found by their last eight
characters, as Gitea does: neither is ever stored or logged in clear.
"""

import hashlib
import hmac
import os
import re
import secrets
import sqlite3
import time
from email.utils import parseaddr

# models/user/user.go reservedUsernames and reservedUserPatterns (Gitea 1.2x)
RESERVED_NAMES = {
    ".", "..", ".well-known", "admin", "api", "assets", "attachments", "avatar", "avatars", "captcha",
    "commits", "debug", "error", "explore", "favicon.ico", "ghost", "issues", "login", "manifest.json",
    "metrics", "milestones", "new", "notifications", "org", "pulls", "raw", "repo", "repo-avatars",
    "robots.txt", "search", "serviceworker.js", "ssh_info", "swagger.v1.json", "user", "v2", "gitea-actions",
}
RESERVED_PATTERNS = ["*.keys", "*.gpg", "*.rss", "*.atom", "*.png"]
# models/repo/repo.go reservedRepoNames / reservedRepoPatterns
RESERVED_REPO_NAMES = {".", "..", "-"}
RESERVED_REPO_PATTERNS = ["*.git", "*.rss", "*.atom", "*.wiki"]

# modules/validation: a username starts with an alphanumeric, then alphanumerics, '-', '_', '.', never
# two special characters in a row nor one at the end
_USERNAME = re.compile(r"^[\da-zA-Z][-.\w]*$", re.ASCII)
_USERNAME_INVALID = re.compile(r"[-._]{2,}|[-._]$")
_EMAIL = re.compile(r"^[a-zA-Z0-9.!#$%&'*+\-/=?^_`{|}~]*@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
                    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$")
_ALPHA_DASH_DOT = re.compile(r"^[\w.-]+$", re.ASCII)

USER, ORGANIZATION = 0, 1
VISIBILITY = {"public": 0, "limited": 1, "private": 2}
VISIBILITY_NAMES = {v: k for k, v in VISIBILITY.items()}
# models/perm AccessMode
NONE, READ, WRITE, ADMIN, OWNER = 0, 1, 2, 3, 4
PERMISSION_MODES = {"read": READ, "write": WRITE, "admin": ADMIN}

# models/auth/access_token_scope.go: each scope and the bits it grants (write implies read)
_CATEGORIES = ["activitypub", "admin", "misc", "notification", "organization", "package", "issue",
               "repository", "user"]
SCOPE_BITS = {"public-only": 1}
_bit = 2
for _category in _CATEGORIES:
    SCOPE_BITS[f"read:{_category}"] = _bit
    SCOPE_BITS[f"write:{_category}"] = (_bit << 1) | _bit
    _bit <<= 2
ALL_BITS = 0
for _category in _CATEGORIES:
    ALL_BITS |= SCOPE_BITS[f"write:{_category}"]
SCOPE_BITS["all"] = ALL_BITS
# the order Gitea normalizes a scope list in (parents before children)
_SCOPE_ORDER = ["public-only"] + [s for c in _CATEGORIES for s in (f"write:{c}", f"read:{c}")]


class ModelError(Exception):
    """An error of Gitea's models, with its Error() text; ``kind`` picks the HTTP status."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind


def scope_bits(scope):
    """The bitmap of a comma-separated scope string; unknown scopes raise as Gitea's parse() does."""
    bits = 0
    for single in scope.split(","):
        if not single:
            continue
        if single not in SCOPE_BITS:
            raise ModelError("scope", f"invalid access token scope: {single}")
        bits |= SCOPE_BITS[single]
    return bits


def normalize_scope(scopes):
    """Gitea's AccessTokenScope.Normalize: duplicates and implied read scopes removed, all → "all"."""
    bits = scope_bits(",".join(scopes))
    chosen, rebuilt = [], 0
    for single in _SCOPE_ORDER:
        wanted = SCOPE_BITS[single]
        if bits & wanted == wanted and rebuilt | wanted != rebuilt:
            rebuilt |= wanted
            chosen.append(single)
    text = ",".join(chosen)
    return text.replace(",".join(f"write:{c}" for c in _CATEGORIES), "all")


def scope_has(scope, required):
    """True when the token scope grants every scope in ``required`` (e.g. ["write:repository"])."""
    bits = scope_bits(scope)
    return all(bits & SCOPE_BITS[r] == SCOPE_BITS[r] for r in required)


def _matches(name, patterns):
    lowered = name.lower()
    for pattern in patterns:
        if pattern.startswith("*") and lowered.endswith(pattern[1:]):
            return pattern
    return None


def check_username(name):
    """models/user IsUsableUsername: reserved names, reserved patterns, then the character rules."""
    if name.lower() in RESERVED_NAMES:
        raise ModelError("invalid", f"name is reserved [name: {name}]")
    pattern = _matches(name, RESERVED_PATTERNS)
    if pattern:
        raise ModelError("invalid", f"name pattern is not allowed [pattern: {pattern}]")
    if not _USERNAME.match(name) or _USERNAME_INVALID.search(name):
        raise ModelError("invalid", f"name is invalid [{name}]: must be valid alpha or numeric or dash(-_) or "
                                    "dot characters")


def check_email(email):
    """models/user ValidateEmail (the basic part: Gitea's default allows every domain)."""
    if not email:
        raise ModelError("invalid", f"e-mail invalid [email: {email}]")
    if not _EMAIL.match(email):
        raise ModelError("invalid", f"e-mail address contains unsupported character [email: {email}]")
    if email[0] == "-" or parseaddr(email)[1] != email:
        raise ModelError("invalid", f"e-mail invalid [email: {email}]")


def check_repo_name(name):
    """models/repo IsUsableRepoName (the API binding already required AlphaDashDot, max 100)."""
    if name.lower() in RESERVED_REPO_NAMES:
        raise ModelError("invalid", f"name is reserved [name: {name}]")
    pattern = _matches(name, RESERVED_REPO_PATTERNS)
    if pattern:
        raise ModelError("invalid", f"name pattern is not allowed [pattern: {pattern}]")
    if not _ALPHA_DASH_DOT.match(name):
        raise ModelError("invalid", f"name is invalid [{name}]: must be valid alpha or numeric or dash(-_) or "
                                    "dot characters")


def _hash_password(password, salt):
    # Gitea's default PASSWORD_HASH_ALGO "pbkdf2": pbkdf2-sha256, 50000 rounds, 50 bytes
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), 50000, 50).hex()


def _hash_token(token, salt):
    # models/auth HashToken: pbkdf2-sha256, 10000 rounds, 50 bytes
    return hashlib.pbkdf2_hmac("sha256", token.encode(), salt.encode(), 10000, 50).hex()


SCHEMA = """
CREATE TABLE IF NOT EXISTS user (
    id INTEGER PRIMARY KEY AUTOINCREMENT, lower_name TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
    full_name TEXT NOT NULL DEFAULT '', email TEXT NOT NULL, lower_email TEXT NOT NULL,
    passwd TEXT NOT NULL DEFAULT '', salt TEXT NOT NULL DEFAULT '', type INTEGER NOT NULL,
    is_admin INTEGER NOT NULL DEFAULT 0, is_active INTEGER NOT NULL DEFAULT 1,
    must_change_password INTEGER NOT NULL DEFAULT 0, prohibit_login INTEGER NOT NULL DEFAULT 0,
    restricted INTEGER NOT NULL DEFAULT 0, visibility INTEGER NOT NULL DEFAULT 0,
    description TEXT NOT NULL DEFAULT '', website TEXT NOT NULL DEFAULT '', location TEXT NOT NULL DEFAULT '',
    login_name TEXT NOT NULL DEFAULT '', repo_admin_change_team_access INTEGER NOT NULL DEFAULT 0,
    created_unix INTEGER NOT NULL, updated_unix INTEGER NOT NULL, last_login_unix INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS org_owner (org_id INTEGER NOT NULL, uid INTEGER NOT NULL, PRIMARY KEY (org_id, uid));
CREATE TABLE IF NOT EXISTS repository (
    id INTEGER PRIMARY KEY AUTOINCREMENT, owner_id INTEGER NOT NULL, lower_name TEXT NOT NULL, name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '', website TEXT NOT NULL DEFAULT '', is_private INTEGER NOT NULL,
    is_template INTEGER NOT NULL DEFAULT 0, default_branch TEXT NOT NULL, object_format TEXT NOT NULL,
    created_unix INTEGER NOT NULL, updated_unix INTEGER NOT NULL, UNIQUE (owner_id, lower_name));
CREATE TABLE IF NOT EXISTS collaboration (
    repo_id INTEGER NOT NULL, user_id INTEGER NOT NULL, mode INTEGER NOT NULL, PRIMARY KEY (repo_id, user_id));
CREATE TABLE IF NOT EXISTS access_token (
    id INTEGER PRIMARY KEY AUTOINCREMENT, uid INTEGER NOT NULL, name TEXT NOT NULL, token_hash TEXT NOT NULL,
    token_salt TEXT NOT NULL, token_last_eight TEXT NOT NULL, scope TEXT NOT NULL,
    created_unix INTEGER NOT NULL, updated_unix INTEGER NOT NULL);
"""


class Store:
    """One sqlite connection; the HTTP server serializes requests on it with ``lock``."""

    def __init__(self, path, repo_root):
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        self.path = path
        self.repo_root = repo_root
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)

    def close(self):
        self.db.close()

    # --- users and organizations ---

    def user(self, name):
        return self.db.execute("SELECT * FROM user WHERE lower_name = ?", (name.lower(),)).fetchone()

    def user_by_id(self, uid):
        return self.db.execute("SELECT * FROM user WHERE id = ?", (uid,)).fetchone()

    def individuals(self):
        return self.db.execute("SELECT * FROM user WHERE type = ? ORDER BY id", (USER,)).fetchall()

    def organizations(self):
        return self.db.execute("SELECT * FROM user WHERE type = ? ORDER BY id", (ORGANIZATION,)).fetchall()

    def create_user(self, name, email, password, is_admin=False, must_change_password=False, full_name="",
                    visibility=0, restricted=False, login_name=""):
        """models/user CreateUser: name rules, then unique name, then e-mail rules and unique e-mail."""
        check_username(name)
        if self.user(name):
            raise ModelError("exists", f"user already exists [name: {name}]")
        check_email(email)
        if self.db.execute("SELECT 1 FROM user WHERE lower_email = ?", (email.lower(),)).fetchone():
            raise ModelError("exists", f"e-mail already in use [email: {email}]")
        salt = secrets.token_hex(16)
        now = int(time.time())
        cursor = self.db.execute(
            "INSERT INTO user (lower_name, name, full_name, email, lower_email, passwd, salt, type, is_admin,"
            " must_change_password, restricted, visibility, login_name, created_unix, updated_unix)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (name.lower(), name, full_name, email, email.lower(), _hash_password(password, salt), salt, USER,
             int(is_admin), int(must_change_password), int(restricted), visibility, login_name, now, now))
        return self.user_by_id(cursor.lastrowid)

    def set_password(self, uid, password, must_change_password):
        salt = secrets.token_hex(16)
        self.db.execute("UPDATE user SET passwd = ?, salt = ?, must_change_password = ?, updated_unix = ? WHERE id = ?",
                        (_hash_password(password, salt), salt, int(bool(must_change_password)), int(time.time()), uid))

    def create_org(self, name, owner_id, full_name="", email="", description="", website="", location="",
                   visibility=0, repo_admin_change_team_access=False):
        """models/organization CreateOrganization: the creator joins the Owners team."""
        check_username(name)
        if self.user(name):
            raise ModelError("exists", f"user already exists [name: {name}]")
        now = int(time.time())
        self.db.execute("BEGIN IMMEDIATE")
        try:
            cursor = self.db.execute(
                "INSERT INTO user (lower_name, name, full_name, email, lower_email, type, visibility, description,"
                " website, location, repo_admin_change_team_access, created_unix, updated_unix)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (name.lower(), name, full_name, email, email.lower(), ORGANIZATION, visibility, description,
                 website, location, int(repo_admin_change_team_access), now, now))
            self.db.execute("INSERT INTO org_owner (org_id, uid) VALUES (?, ?)", (cursor.lastrowid, owner_id))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return self.user_by_id(cursor.lastrowid)

    def is_org_owner(self, org_id, uid):
        return self.db.execute("SELECT 1 FROM org_owner WHERE org_id = ? AND uid = ?", (org_id, uid)).fetchone() \
            is not None

    def check_password(self, user, password):
        if not user["passwd"]:
            return False
        return hmac.compare_digest(user["passwd"], _hash_password(password, user["salt"]))

    def touch_login(self, uid):
        self.db.execute("UPDATE user SET last_login_unix = ? WHERE id = ?", (int(time.time()), uid))

    # --- repositories ---

    def repo(self, owner_id, name):
        return self.db.execute("SELECT * FROM repository WHERE owner_id = ? AND lower_name = ?",
                               (owner_id, name.lower())).fetchone()

    def repos_of(self, owner_id):
        return self.db.execute("SELECT * FROM repository WHERE owner_id = ? ORDER BY id", (owner_id,)).fetchall()

    def repo_path(self, owner_name, repo_name):
        # Gitea lays out ROOT/<owner lower>/<repo lower>.git
        return os.path.join(self.repo_root, owner_name.lower(), repo_name.lower() + ".git")

    def create_repo(self, owner, name, description="", private=False, template=False, default_branch="",
                    object_format="sha1", init=None):
        """repo_service.CreateRepository: the row, then the bare repository on disk (``init`` fills it)."""
        check_repo_name(name)
        if self.repo(owner["id"], name) or os.path.exists(self.repo_path(owner["name"], name)):
            # Gitea also refuses when the folder exists without a row (ErrRepoFilesAlreadyExist)
            raise ModelError("repo-exists", "The repository with the same name already exists.")
        now = int(time.time())
        cursor = self.db.execute(
            "INSERT INTO repository (owner_id, lower_name, name, description, is_private, is_template,"
            " default_branch, object_format, created_unix, updated_unix) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (owner["id"], name.lower(), name, description, int(private), int(template), default_branch or "main",
             object_format or "sha1", now, now))
        row = self.db.execute("SELECT * FROM repository WHERE id = ?", (cursor.lastrowid,)).fetchone()
        try:
            if init:
                init(self.repo_path(owner["name"], name), row)
        except BaseException:
            self.db.execute("DELETE FROM repository WHERE id = ?", (row["id"],))
            raise
        return row

    def collaboration(self, repo_id, uid):
        row = self.db.execute("SELECT mode FROM collaboration WHERE repo_id = ? AND user_id = ?",
                              (repo_id, uid)).fetchone()
        return row["mode"] if row else None

    def set_collaboration(self, repo_id, uid, mode):
        self.db.execute("INSERT INTO collaboration (repo_id, user_id, mode) VALUES (?, ?, ?)"
                        " ON CONFLICT (repo_id, user_id) DO UPDATE SET mode = excluded.mode", (repo_id, uid, mode))

    def delete_collaboration(self, repo_id, uid):
        self.db.execute("DELETE FROM collaboration WHERE repo_id = ? AND user_id = ?", (repo_id, uid))

    def permission(self, repo, doer):
        """access_model.GetUserRepoPermission, for what the stand-in has: admins and owners own, org owners
        own the org's repositories, collaborators have their mode, everyone may read a public repository."""
        owner = self.user_by_id(repo["owner_id"])
        public = not repo["is_private"] and (owner["visibility"] == 0 or (doer is not None and owner["visibility"] == 1))
        if doer is None:
            return READ if public else NONE
        if doer["is_admin"] or doer["id"] == owner["id"]:
            return OWNER
        if owner["type"] == ORGANIZATION and self.is_org_owner(owner["id"], doer["id"]):
            return OWNER
        mode = self.collaboration(repo["id"], doer["id"]) or NONE
        if public and not doer["restricted"]:
            mode = max(mode, READ)
        return mode

    # --- access tokens ---

    def tokens(self, uid):
        return self.db.execute("SELECT * FROM access_token WHERE uid = ? ORDER BY id", (uid,)).fetchall()

    def create_token(self, uid, name, scope):
        """models/auth NewAccessToken: 20 random bytes as 40 hex, stored hashed; returns (row, token)."""
        token = secrets.token_bytes(20).hex()
        salt = secrets.token_hex(16)
        now = int(time.time())
        cursor = self.db.execute(
            "INSERT INTO access_token (uid, name, token_hash, token_salt, token_last_eight, scope, created_unix,"
            " updated_unix) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (uid, name, _hash_token(token, salt), salt, token[-8:], scope, now, now))
        return self.db.execute("SELECT * FROM access_token WHERE id = ?", (cursor.lastrowid,)).fetchone(), token

    def token_by_value(self, token):
        """models/auth GetAccessTokenBySHA: 40 hex characters, found by the last eight, checked by hash."""
        if len(token) != 40 or not re.fullmatch(r"[0-9a-f]{40}", token):
            return None
        for row in self.db.execute("SELECT * FROM access_token WHERE token_last_eight = ?", (token[-8:],)):
            if hmac.compare_digest(row["token_hash"], _hash_token(token, row["token_salt"])):
                self.db.execute("UPDATE access_token SET updated_unix = ? WHERE id = ?", (int(time.time()), row["id"]))
                return row
        return None

    def delete_token(self, token_id):
        self.db.execute("DELETE FROM access_token WHERE id = ?", (token_id,))
