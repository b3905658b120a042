"""Tests of the Gitea stand-in (gitea web, gitea admin user create|list, the REST API subset and git smart
HTTP), without a testbed: the server runs on 127.0.43.X (loopback only), real git clones and pushes with a
password and with tokens, and every API response is checked against Gitea's swagger.json by bravado-core in
the pinned test venv (/opt/islet-test-tools, scripts/install-dependencies).
Run: python3 -m unittest discover -s Tests/testbed/standins -p 'test_gitea.py'
"""

import base64
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "src")
SWAGGER = os.path.join(HERE, "contracts", "gitea", "swagger.json")
CHECKER = os.path.join(HERE, "gitea_swagger_check.py")
VENV_PYTHON = "/opt/islet-test-tools/bin/python"
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
ADMIN, ADMIN_PW = "islet-admin", "admin-pass-1"
BOT, BOT_PW = "argocd-bot", "bot-pass-12"
VIEWER, VIEWER_PW = "viewer", "viewer-pass1"


def free_address():
    """An address in 127.0.43.0/24 and a port free on it (other tests may use the range too)."""
    for _ in range(50):
        host = f"127.0.43.{random.randint(2, 250)}"
        port = random.randint(20000, 60000)
        with socket.socket() as probe:
            try:
                probe.bind((host, port))
                return host, port
            except OSError:
                continue
    raise RuntimeError("no free address in 127.0.43.0/24")


def app_ini(root, host, port, **override):
    """An app.ini as the GitOps stack writes it; ``override`` replaces "SECTION.KEY" values (None drops)."""
    values = {
        ".APP_NAME": "islet git", ".RUN_USER": current_user(), ".WORK_PATH": f"{root}/work",
        "server.PROTOCOL": "http", "server.HTTP_ADDR": host, "server.HTTP_PORT": str(port),
        "server.ROOT_URL": f"http://{host}:{port}/", "server.OFFLINE_MODE": "true", "server.DISABLE_SSH": "true",
        "database.DB_TYPE": "sqlite3", "database.PATH": f"{root}/data/gitea.db",
        "repository.ROOT": f"{root}/data/gitea-repositories", "security.INSTALL_LOCK": "true",
        "security.SECRET_KEY": "s3cr3t-key-for-tests", "security.INTERNAL_TOKEN": "internal-token-for-tests",
        "oauth2.JWT_SECRET": base64.urlsafe_b64encode(b"j" * 32).decode().rstrip("="),
        "service.DISABLE_REGISTRATION": "true",
    }
    values.update(override)
    sections = {}
    for key, value in values.items():
        if value is not None:
            section, _, name = key.partition(".")
            sections.setdefault(section, []).append(f"{name} = {value}")
    text = "\n".join(sections.pop("", [])) + "\n"
    for section, lines in sections.items():
        text += f"\n[{section}]\n" + "\n".join(lines) + "\n"
    path = os.path.join(root, "app.ini")
    with open(path, "w") as f:
        f.write(text)
    return path


def current_user():
    import pwd
    return pwd.getpwuid(os.getuid()).pw_name


def environment(tmp):
    env = dict(os.environ, PYTHONPATH=SRC, ISLET_STANDIN_SHARED=f"{tmp}/shared", ISLET_STANDIN_RUN=f"{tmp}/run",
               ISLET_STANDIN_NODE="git", HOME=f"{tmp}/home", GIT_CONFIG_NOSYSTEM="1", GIT_TERMINAL_PROMPT="0",
               GIT_ASKPASS="/bin/false")
    env.pop("GIT_CONFIG_GLOBAL", None)
    # the tests run as root here: real Gitea refuses root unless told so, and so does the stand-in
    env["I_AM_BEING_UNSAFE_RUNNING_AS_ROOT"] = "true"
    os.makedirs(env["HOME"], exist_ok=True)
    return env


def gitea(env, *args):
    return subprocess.run([PYTHON, "-m", "standins.gitea", *args], env=env, capture_output=True, text=True,
                          timeout=60)


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class GiteaCLI(unittest.TestCase):
    """The CLI and app.ini checks, no server."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="gitea-cli-")
        self.env = environment(self.tmp)
        self.host, self.port = "127.0.43.1", 3000

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def ini(self, **override):
        return app_ini(self.tmp, self.host, self.port, **override)

    def test_version(self):
        done = gitea(self.env, "--version")
        self.assertEqual(done.returncode, 0)
        self.assertRegex(done.stdout, r"^Gitea version 1\.26\.4 built with ")

    def test_admin_user_change_password(self):
        config = self.ini()
        gitea(self.env, "admin", "user", "create", "--config", config, "--admin", "--username", ADMIN, "--password",
              ADMIN_PW, "--email", "admin@islet.internal", "--must-change-password=false")
        missing = gitea(self.env, "admin", "user", "change-password", "--config", config, "--username", "nobody",
                        "--password", "another-pass-123")
        self.assertEqual(missing.returncode, 1)
        self.assertIn("user does not exist", missing.stderr)
        short = gitea(self.env, "admin", "user", "change-password", "--config", config, "-u", ADMIN, "-p", "x")
        self.assertIn("password is too short", short.stderr)
        done = gitea(self.env, "admin", "user", "change-password", "--config", config, "--username", ADMIN,
                     "--password", "another-pass-123", "--must-change-password=false")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout, f"{ADMIN}'s password has been successfully updated!\n")
        with open(f"{self.tmp}/shared/standins/calls.jsonl") as f:
            self.assertNotIn("another-pass-123", f.read())

    def test_admin_user_create_and_list(self):
        config = self.ini()
        create = ["admin", "user", "create", "--config", config, "--admin", "--username", ADMIN, "--password",
                  ADMIN_PW, "--email", "admin@islet.internal", "--must-change-password=false"]
        done = gitea(self.env, *create)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout, f"New user '{ADMIN}' has been successfully created!\n")
        again = gitea(self.env, *create)
        self.assertEqual(again.returncode, 1)
        self.assertIn(f"Command error: CreateUser: user already exists [name: {ADMIN}]", again.stderr)
        reserved = gitea(self.env, "admin", "user", "create", "--config", config, "--username", "admin",
                         "--password", ADMIN_PW, "--email", "other@islet.internal")
        self.assertEqual(reserved.returncode, 1)
        self.assertIn("CreateUser: name is reserved [name: admin]", reserved.stderr)
        bad_email = gitea(self.env, "admin", "user", "create", "--config", config, "--username", "someone",
                          "--password", ADMIN_PW, "--email", "not-an-email")
        self.assertEqual(bad_email.returncode, 1)
        self.assertIn("e-mail", bad_email.stderr)
        same_email = gitea(self.env, "admin", "user", "create", "--config", config, "--username", "someone",
                           "--password", ADMIN_PW, "--email", "admin@islet.internal")
        self.assertIn("e-mail already in use", same_email.stderr)
        no_password = gitea(self.env, "admin", "user", "create", "--config", config, "--username", "someone",
                            "--email", "s@islet.internal")
        self.assertIn("must set either password or random-password flag", no_password.stderr)
        unknown_flag = gitea(self.env, "admin", "user", "create", "--config", config, "--bogus")
        self.assertEqual(unknown_flag.returncode, 1)
        self.assertIn("flag provided but not defined: -bogus", unknown_flag.stderr)
        # a second, non-admin user: the default for a non-first user is must-change-password=true
        done = gitea(self.env, "admin", "user", "create", "--config", config, "--username", "dev", "--password",
                     "dev-pass-123", "--email", "dev@islet.internal")
        self.assertEqual(done.returncode, 0, done.stderr)
        listing = gitea(self.env, "admin", "user", "list", "--admin", "--config", config)
        self.assertEqual(listing.returncode, 0, listing.stderr)
        self.assertEqual(listing.stdout, "ID   Username    Email                IsActive\n"
                                         "1    islet-admin admin@islet.internal true\n")
        everyone = gitea(self.env, "admin", "user", "list", "--config", config)
        self.assertEqual(everyone.stdout.splitlines()[0], "ID   Username    Email                IsActive IsAdmin 2FA")
        self.assertEqual(everyone.stdout.splitlines()[2].split(), ["2", "dev", "dev@islet.internal", "true", "false",
                                                                   "false"])
        # the record has every call, never the password
        with open(f"{self.tmp}/shared/standins/calls.jsonl") as f:
            record = f.read()
        self.assertNotIn(ADMIN_PW, record)
        self.assertIn('"--password", "***"', record)

    def refused(self, args, expected, **override):
        config = self.ini(**override)
        done = gitea(self.env, *args(config))
        self.assertEqual(done.returncode, 1, done.stdout)
        self.assertIn(expected, done.stderr)

    def test_config_refusals(self):
        listing = lambda config: ["admin", "user", "list", "--config", config]  # noqa: E731
        web = lambda config: ["web", "--config", config]  # noqa: E731
        self.refused(listing, "INSTALL_LOCK is not true", **{"security.INSTALL_LOCK": None})
        self.refused(listing, "INSTALL_LOCK is not true", **{"security.INSTALL_LOCK": "false"})
        self.refused(listing, "SECRET_KEY is empty", **{"security.SECRET_KEY": None})
        self.refused(listing, "INTERNAL_TOKEN is empty", **{"security.INTERNAL_TOKEN": None})
        self.refused(listing, "invalid oauth2 JWT_SECRET", **{"oauth2.JWT_SECRET": "short"})
        self.refused(listing, "DB_TYPE = 'mysql'", **{"database.DB_TYPE": "mysql"})
        self.refused(listing, "is not a boolean", **{"server.OFFLINE_MODE": "yes please"})
        self.refused(listing, "Expect user 'git' but current user is:", **{".RUN_USER": "git"})
        self.refused(web, "loopback addresses only", **{"server.HTTP_ADDR": "0.0.0.0"})
        self.refused(web, "is not a port number", **{"server.HTTP_PORT": "http"})
        self.refused(listing, "push-to-create", **{"repository.ENABLE_PUSH_CREATE_ORG": "true"})
        missing = gitea(self.env, "admin", "user", "list", "--config", f"{self.tmp}/nope.ini")
        self.assertEqual(missing.returncode, 1)
        self.assertIn("Unable to load config file", missing.stderr)
        env = dict(self.env)
        del env["I_AM_BEING_UNSAFE_RUNNING_AS_ROOT"]
        if os.getuid() == 0:
            done = subprocess.run([PYTHON, "-m", "standins.gitea", "admin", "user", "list", "--config", self.ini()],
                                  env=env, capture_output=True, text=True)
            self.assertEqual(done.returncode, 1)
            self.assertIn("Gitea is not supposed to be run as root", done.stderr)


class GiteaServer(unittest.TestCase):
    """One server for the whole scenario, in the order the GitOps stack uses it (tests are numbered)."""

    responses = []  # every API response, for the swagger check

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="gitea-web-")
        cls.env = environment(cls.tmp)
        cls.host, cls.port = free_address()
        cls.config = app_ini(cls.tmp, cls.host, cls.port)
        cls.url = f"http://{cls.host}:{cls.port}"
        for args in (["--admin", "--username", ADMIN, "--password", ADMIN_PW, "--email", "admin@islet.internal",
                      "--must-change-password=false"],):
            done = gitea(cls.env, "admin", "user", "create", "--config", cls.config, *args)
            assert done.returncode == 0, done.stderr
        cls.tokens = {}
        cls.start()

    @classmethod
    def start(cls):
        cls.log = open(f"{cls.tmp}/web.log", "a")
        cls.server = subprocess.Popen([PYTHON, "-m", "standins.gitea", "web", "--config", cls.config], env=cls.env,
                                      stdout=cls.log, stderr=cls.log)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                with socket.create_connection((cls.host, cls.port), timeout=0.2):
                    return
            except OSError:
                if cls.server.poll() is not None:
                    break
                time.sleep(0.05)
        raise RuntimeError("gitea stand-in did not start: " + open(f"{cls.tmp}/web.log").read())

    @classmethod
    def tearDownClass(cls):
        if cls.server.poll() is None:
            cls.server.send_signal(signal.SIGTERM)
            cls.server.wait(timeout=10)
        cls.log.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def call(self, method, path, template, auth=None, body=None, content_type="application/json", headers=None):
        """One API request; the response is kept for the swagger check under the spec's path template."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        sent = dict(headers or {})
        if auth:
            sent["Authorization"] = auth
        data = None
        if body is not None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            sent["Content-Type"] = content_type
        connection.request(method, "/api/v1" + path, body=data, headers=sent)
        response = connection.getresponse()
        text = response.read().decode()
        connection.close()
        self.responses.append({"method": method, "path": template, "status": response.status,
                               "content_type": response.getheader("Content-Type", ""), "body": text})
        parsed = json.loads(text) if text and "json" in response.getheader("Content-Type", "") else None
        return response.status, parsed

    def expect(self, status, method, path, template, **kwargs):
        got, body = self.call(method, path, template, **kwargs)
        self.assertEqual(got, status, f"{method} {path}: {body}")
        return body

    def git(self, *args, cwd=None, check=True):
        done = subprocess.run(["git", *args], cwd=cwd, env=self.env, capture_output=True, text=True, timeout=60)
        if check:
            self.assertEqual(done.returncode, 0, done.stderr)
        return done

    def remote(self, user, secret, repo="platform/deploy"):
        return f"http://{user}:{secret}@{self.host}:{self.port}/{repo}.git"

    # --- the scenario ---

    def test_01_version_and_authentication(self):
        self.assertEqual(self.expect(200, "GET", "/version", "/version"), {"version": "1.26.4"})
        body = self.expect(401, "GET", "/user", "/user")
        self.assertEqual(body["message"], "token is required")
        self.expect(401, "GET", "/user", "/user", auth=basic(ADMIN, "wrong"))
        self.expect(401, "GET", "/user", "/user", auth=basic("nobody", "wrong"))
        me = self.expect(200, "GET", "/user", "/user", auth=basic(ADMIN, ADMIN_PW))
        self.assertEqual((me["login"], me["is_admin"], me["email"]), (ADMIN, True, "admin@islet.internal"))

    def test_02_admin_creates_users(self):
        path = "/admin/users"
        self.expect(401, "POST", path, path, body={"username": BOT, "email": "bot@islet.internal"})
        bot = self.expect(201, "POST", path, path, auth=basic(ADMIN, ADMIN_PW),
                          body={"username": BOT, "email": "bot@islet.internal", "password": BOT_PW,
                                "must_change_password": False})
        self.assertEqual((bot["login"], bot["is_admin"], bot["active"]), (BOT, False, True))
        self.expect(201, "POST", path, path, auth=basic(ADMIN, ADMIN_PW),
                    body={"username": VIEWER, "email": "viewer@islet.internal", "password": VIEWER_PW,
                          "must_change_password": False})
        # without must_change_password the API forces a password change: that user can do nothing yet
        self.expect(201, "POST", path, path, auth=basic(ADMIN, ADMIN_PW),
                    body={"username": "newbie", "email": "newbie@islet.internal", "password": "newbie-pass"})
        body = self.expect(403, "GET", "/user", "/user", auth=basic("newbie", "newbie-pass"))
        self.assertIn("You must change your password", body["message"])
        body = self.expect(422, "POST", path, path, auth=basic(ADMIN, ADMIN_PW),
                           body={"username": BOT, "email": "bot2@islet.internal", "password": BOT_PW})
        self.assertEqual(body["message"], f"user already exists [name: {BOT}]")
        body = self.expect(422, "POST", path, path, auth=basic(ADMIN, ADMIN_PW),
                           body={"username": "admin", "email": "a@islet.internal", "password": BOT_PW})
        self.assertEqual(body["message"], "name is reserved [name: admin]")
        self.expect(422, "POST", path, path, auth=basic(ADMIN, ADMIN_PW),
                    body={"username": "x1", "email": "bot@islet.internal", "password": BOT_PW})
        self.expect(422, "POST", path, path, auth=basic(ADMIN, ADMIN_PW),
                    body={"username": "x2", "email": "no-at-sign", "password": BOT_PW})
        body = self.expect(422, "POST", path, path, auth=basic(ADMIN, ADMIN_PW), body={"email": "x3@islet.internal"})
        self.assertEqual(body["message"], "[Username]: Required")
        self.expect(422, "POST", path, path, auth=basic(ADMIN, ADMIN_PW),
                    body={"username": "x4", "email": "x4@islet.internal", "must_change_password": "no"})
        self.expect(400, "POST", path, path, auth=basic(ADMIN, ADMIN_PW),
                    body={"username": "x5", "email": "x5@islet.internal", "password": "short"})
        # curl -d without the JSON content type: form binding, the fields stay empty, as with real Gitea
        self.expect(422, "POST", path, path, auth=basic(ADMIN, ADMIN_PW), content_type="application/x-www-form-urlencoded",
                    body=json.dumps({"username": "x6", "email": "x6@islet.internal"}))
        body = self.expect(403, "POST", path, path, auth=basic(BOT, BOT_PW),
                           body={"username": "x7", "email": "x7@islet.internal", "password": BOT_PW})
        self.assertEqual(body["message"], "user should be the site admin")
        users = self.expect(200, "GET", path, path, auth=basic(ADMIN, ADMIN_PW))
        self.assertEqual([u["login"] for u in users], [ADMIN, BOT, VIEWER, "newbie"])
        self.expect(403, "GET", path, path, auth=basic(BOT, BOT_PW))

    def test_03_users(self):
        template = "/users/{username}"
        anonymous = self.expect(200, "GET", f"/users/{BOT}", template)
        self.assertEqual(anonymous["email"], f"{BOT}@noreply.localhost")  # hidden from anonymous callers
        self.assertEqual(self.expect(200, "GET", f"/users/{BOT}", template, auth=basic(ADMIN, ADMIN_PW))["email"],
                         "bot@islet.internal")
        self.expect(404, "GET", "/users/ghost-user", template)

    def test_04_organizations(self):
        self.expect(401, "POST", "/orgs", "/orgs", body={"username": "platform"})
        org = self.expect(201, "POST", "/orgs", "/orgs", auth=basic(ADMIN, ADMIN_PW),
                          body={"username": "platform", "full_name": "Platform", "visibility": "private",
                                "email": "platform@islet.internal"})
        self.assertEqual((org["name"], org["username"], org["visibility"]), ("platform", "platform", "private"))
        body = self.expect(422, "POST", "/orgs", "/orgs", auth=basic(ADMIN, ADMIN_PW), body={"username": "platform"})
        self.assertEqual(body["message"], "user already exists [name: platform]")
        self.expect(422, "POST", "/orgs", "/orgs", auth=basic(ADMIN, ADMIN_PW),
                    body={"username": "other", "visibility": "secret"})
        self.expect(422, "POST", "/orgs", "/orgs", auth=basic(ADMIN, ADMIN_PW), body={"username": BOT})
        self.assertEqual(self.expect(200, "GET", "/orgs/platform", "/orgs/{org}", auth=basic(ADMIN, ADMIN_PW))["id"],
                         org["id"])
        # a private organization is invisible to others
        self.expect(404, "GET", "/orgs/platform", "/orgs/{org}")
        self.expect(404, "GET", "/orgs/platform", "/orgs/{org}", auth=basic(BOT, BOT_PW))
        self.expect(404, "GET", "/orgs/nowhere", "/orgs/{org}", auth=basic(ADMIN, ADMIN_PW))
        self.assertEqual([o["name"] for o in self.expect(200, "GET", "/orgs", "/orgs", auth=basic(ADMIN, ADMIN_PW))],
                         ["platform"])
        self.assertEqual(self.expect(200, "GET", "/orgs", "/orgs"), [])

    def test_05_organization_repositories(self):
        template = "/orgs/{org}/repos"
        repo = self.expect(201, "POST", "/orgs/platform/repos", template, auth=basic(ADMIN, ADMIN_PW),
                           body={"name": "deploy", "private": True, "auto_init": True, "default_branch": "main",
                                 "description": "manifests"})
        self.assertEqual((repo["full_name"], repo["private"], repo["empty"], repo["default_branch"]),
                         ("platform/deploy", True, False, "main"))
        self.assertEqual(repo["clone_url"], f"{self.url}/platform/deploy.git")
        self.assertEqual(repo["permissions"], {"admin": True, "push": True, "pull": True})
        body = self.expect(409, "POST", "/orgs/platform/repos", template, auth=basic(ADMIN, ADMIN_PW),
                           body={"name": "Deploy"})
        self.assertEqual(body["message"], "The repository with the same name already exists.")
        self.expect(201, "POST", "/orgs/platform/repos", template, auth=basic(ADMIN, ADMIN_PW),
                    body={"name": "empty-one"})
        self.expect(422, "POST", "/orgs/platform/repos", template, auth=basic(ADMIN, ADMIN_PW), body={"name": "a b"})
        self.expect(422, "POST", "/orgs/platform/repos", template, auth=basic(ADMIN, ADMIN_PW), body={"name": "x.git"})
        self.expect(422, "POST", "/orgs/platform/repos", template, auth=basic(ADMIN, ADMIN_PW), body={})
        self.expect(404, "POST", "/orgs/nowhere/repos", template, auth=basic(ADMIN, ADMIN_PW), body={"name": "r"})
        self.expect(401, "POST", "/orgs/platform/repos", template, body={"name": "r"})
        listed = self.expect(200, "GET", "/orgs/platform/repos", template, auth=basic(ADMIN, ADMIN_PW))
        self.assertEqual(sorted(r["name"] for r in listed), ["deploy", "empty-one"])
        self.assertTrue([r for r in listed if r["name"] == "empty-one"][0]["empty"])

    def test_06_repositories_and_collaborators(self):
        template = "/repos/{owner}/{repo}"
        self.expect(200, "GET", "/repos/platform/deploy", template, auth=basic(ADMIN, ADMIN_PW))
        self.expect(404, "GET", "/repos/platform/deploy", template)  # private
        self.expect(404, "GET", "/repos/platform/deploy", template, auth=basic(BOT, BOT_PW))
        self.expect(404, "GET", "/repos/platform/missing", template, auth=basic(ADMIN, ADMIN_PW))
        self.expect(404, "GET", "/repos/nowhere/deploy", template, auth=basic(ADMIN, ADMIN_PW))
        collaborator = "/repos/{owner}/{repo}/collaborators/{collaborator}"
        self.expect(404, "GET", f"/repos/platform/deploy/collaborators/{BOT}", collaborator, auth=basic(ADMIN, ADMIN_PW))
        self.expect(204, "PUT", f"/repos/platform/deploy/collaborators/{BOT}", collaborator, auth=basic(ADMIN, ADMIN_PW),
                    body={"permission": "write"})
        self.expect(204, "PUT", f"/repos/platform/deploy/collaborators/{VIEWER}", collaborator,
                    auth=basic(ADMIN, ADMIN_PW), body={"permission": "read"})
        self.expect(204, "GET", f"/repos/platform/deploy/collaborators/{BOT}", collaborator, auth=basic(ADMIN, ADMIN_PW))
        self.expect(422, "PUT", "/repos/platform/deploy/collaborators/ghost-user", collaborator,
                    auth=basic(ADMIN, ADMIN_PW), body={"permission": "read"})
        self.expect(422, "PUT", f"/repos/platform/deploy/collaborators/{VIEWER}", collaborator,
                    auth=basic(ADMIN, ADMIN_PW), body={"permission": "owner"})
        # a write collaborator sees the repository but may not manage collaborators
        seen = self.expect(200, "GET", "/repos/platform/deploy", template, auth=basic(BOT, BOT_PW))
        self.assertEqual(seen["permissions"], {"admin": False, "push": True, "pull": True})
        body = self.expect(403, "PUT", f"/repos/platform/deploy/collaborators/{VIEWER}", collaborator,
                           auth=basic(BOT, BOT_PW), body={"permission": "admin"})
        self.assertIn("collaborator with admin write", body["message"])

    def test_07_tokens(self):
        tokens, one = f"/users/{BOT}/tokens", "/users/{username}/tokens/{token}"
        template = "/users/{username}/tokens"
        self.expect(403, "POST", tokens, template, body={"name": "x", "scopes": ["read:user"]})
        created = self.expect(201, "POST", tokens, template, auth=basic(BOT, BOT_PW),
                              body={"name": "argocd", "scopes": ["write:repository", "read:user",
                                                                 "read:repository", "read:user"]})
        self.assertRegex(created["sha1"], r"^[0-9a-f]{40}$")
        self.assertEqual(created["token_last_eight"], created["sha1"][-8:])
        self.assertEqual(created["scopes"], ["write:repository", "read:user"])  # normalized as Gitea does
        type(self).tokens["write"] = created["sha1"]
        readonly = self.expect(201, "POST", tokens, template, auth=basic(BOT, BOT_PW),
                               body={"name": "readonly", "scopes": ["read:repository"]})
        type(self).tokens["read"] = readonly["sha1"]
        body = self.expect(400, "POST", tokens, template, auth=basic(BOT, BOT_PW),
                           body={"name": "argocd", "scopes": ["read:user"]})
        self.assertEqual(body["message"], "access token name has been used already")
        body = self.expect(400, "POST", tokens, template, auth=basic(BOT, BOT_PW),
                           body={"name": "bad", "scopes": ["write:repo"]})
        self.assertIn("invalid access token scope: write:repo", body["message"])
        self.expect(400, "POST", tokens, template, auth=basic(BOT, BOT_PW), body={"name": "none", "scopes": []})
        self.expect(422, "POST", tokens, template, auth=basic(BOT, BOT_PW), body={"scopes": ["read:user"]})
        # token scopes come first (write:user), then tokens are managed with a password only, and only
        # one's own (or by an admin)
        body = self.expect(403, "POST", tokens, template, auth="token " + created["sha1"],
                           body={"name": "t2", "scopes": ["read:user"]})
        self.assertIn("required=[write:user]", body["message"])
        self.expect(403, "GET", f"/users/{ADMIN}/tokens", template, auth=basic(BOT, BOT_PW))
        by_admin = self.expect(201, "POST", tokens, template, auth=basic(ADMIN, ADMIN_PW),
                               body={"name": "by-admin", "scopes": ["all"]})
        body = self.expect(401, "POST", tokens, template, auth="token " + by_admin["sha1"],
                           body={"name": "t2", "scopes": ["read:user"]})
        self.assertEqual(body["message"], "auth required")
        listed = self.expect(200, "GET", tokens, template, auth=basic(BOT, BOT_PW))
        self.assertEqual([t["name"] for t in listed], ["argocd", "readonly", "by-admin"])
        self.assertTrue(all(t["sha1"] == "" for t in listed))  # shown once, at creation
        self.assertEqual(listed[2]["scopes"], ["all"])
        self.expect(204, "DELETE", f"{tokens}/by-admin", one, auth=basic(BOT, BOT_PW))
        self.expect(404, "DELETE", f"{tokens}/by-admin", one, auth=basic(BOT, BOT_PW))
        self.expect(404, "DELETE", f"{tokens}/{listed[0]['id'] + 1000}", one, auth=basic(BOT, BOT_PW))

    def test_08_token_authentication_and_scopes(self):
        write, read = self.tokens["write"], self.tokens["read"]
        me = self.expect(200, "GET", "/user", "/user", auth="token " + write)
        self.assertEqual(me["login"], BOT)
        self.assertEqual(self.expect(200, "GET", "/user", "/user", auth="bearer " + write)["login"], BOT)
        connection_path = f"/user?token={write}"
        self.assertEqual(self.expect(200, "GET", connection_path, "/user")["login"], BOT)
        body = self.expect(403, "GET", "/user", "/user", auth="token " + read)  # read:repository only
        self.assertIn("required=[read:user]", body["message"])
        self.expect(200, "GET", "/repos/platform/deploy", "/repos/{owner}/{repo}", auth="token " + read)
        self.expect(403, "POST", "/orgs", "/orgs", auth="token " + write, body={"username": "by-token"})
        self.expect(403, "PUT", f"/repos/platform/deploy/collaborators/{VIEWER}",
                    "/repos/{owner}/{repo}/collaborators/{collaborator}", auth="token " + read,
                    body={"permission": "read"})
        # an unknown token is no identity at all
        self.expect(401, "GET", "/user", "/user", auth="token " + "0" * 40)
        # sudo is for admins only
        self.expect(403, "GET", "/user", "/user", auth=basic(BOT, BOT_PW), headers={"Sudo": ADMIN})
        self.assertEqual(self.expect(200, "GET", "/user", "/user", auth=basic(ADMIN, ADMIN_PW),
                                     headers={"Sudo": BOT})["login"], BOT)

    def test_09_git_over_http(self):
        work = tempfile.mkdtemp(dir=self.tmp)
        # a private repository: no clone without credentials (401 with the Basic challenge)
        anonymous = self.git("clone", f"{self.url}/platform/deploy.git", f"{work}/anon", check=False)
        self.assertNotEqual(anonymous.returncode, 0)
        connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
        connection.request("GET", "/platform/deploy.git/info/refs?service=git-upload-pack")
        response = connection.getresponse()
        response.read()
        self.assertEqual((response.status, response.getheader("WWW-Authenticate")), (401, 'Basic realm="Gitea"'))
        connection.close()
        # clone with the password, push with the write token
        self.git("clone", "-q", self.remote(BOT, BOT_PW), f"{work}/c")
        self.assertTrue(os.path.isfile(f"{work}/c/README.md"))
        with open(f"{work}/c/app.yaml", "w") as f:
            f.write("replicas: 2\n")
        self.git("add", "app.yaml", cwd=f"{work}/c")
        self.git("-c", "user.name=bot", "-c", "user.email=bot@islet.internal", "commit", "-qm", "app", cwd=f"{work}/c")
        self.git("push", "-q", self.remote(BOT, self.tokens["write"]), "main", cwd=f"{work}/c")
        bare = f"{self.tmp}/data/gitea-repositories/platform/deploy.git"
        self.assertEqual(self.git("--git-dir", bare, "log", "-1", "--format=%s", "main").stdout.strip(), "app")
        # the token alone as the user name (as some clients send it) works too
        self.git("ls-remote", f"http://{self.tokens['read']}@{self.host}:{self.port}/platform/deploy.git")
        # a read-only token clones but cannot push; a read collaborator cannot push; nobody creates by push
        self.git("clone", "-q", self.remote(BOT, self.tokens["read"]), f"{work}/r")
        refused = self.git("push", self.remote(BOT, self.tokens["read"]), "main", cwd=f"{work}/c", check=False)
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("403", refused.stderr)
        with open(f"{work}/c/app.yaml", "a") as f:
            f.write("image: x\n")
        self.git("-c", "user.name=bot", "-c", "user.email=bot@islet.internal", "commit", "-qam", "two", cwd=f"{work}/c")
        viewer = self.git("push", self.remote(VIEWER, VIEWER_PW), "main", cwd=f"{work}/c", check=False)
        self.assertNotEqual(viewer.returncode, 0)
        self.assertIn("not found", viewer.stderr.lower())
        wrong = self.git("push", self.remote(BOT, "wrong-password"), "main", cwd=f"{work}/c", check=False)
        self.assertNotEqual(wrong.returncode, 0)
        missing = self.git("push", self.remote(ADMIN, ADMIN_PW, "platform/nothing-here"), "main", cwd=f"{work}/c",
                           check=False)
        self.assertNotEqual(missing.returncode, 0)
        self.assertIn("403", missing.stderr)
        self.git("push", "-q", self.remote(ADMIN, ADMIN_PW, "platform/empty-one"), "main", cwd=f"{work}/c")
        self.assertEqual(self.git("--git-dir", bare, "log", "-1", "--format=%s", "main").stdout.strip(), "app")

    def test_10_survives_a_kill(self):
        self.server.send_signal(signal.SIGKILL)
        self.server.wait(timeout=10)
        self.log.close()
        type(self).start()
        repo = self.expect(200, "GET", "/repos/platform/deploy", "/repos/{owner}/{repo}",
                           auth="token " + self.tokens["write"])
        self.assertEqual(repo["branch_count"], 1)
        self.assertFalse(self.expect(200, "GET", "/repos/platform/empty-one", "/repos/{owner}/{repo}",
                                     auth=basic(ADMIN, ADMIN_PW))["empty"])

    def test_11_every_request_recorded_without_secrets(self):
        with open(f"{self.tmp}/shared/standins/calls.jsonl") as f:
            lines = [json.loads(line) for line in f]
        requests = [e for e in lines if e["program"] == "gitea" and e["argv"] == ["web", "request"]]
        self.assertGreaterEqual(len(requests), len(self.responses))
        self.assertTrue(any(e["path"] == "/platform/deploy.git/git-receive-pack" and e["status"] == 200
                            and e["user"] == BOT and e["auth"] == "token" for e in requests))
        with open(f"{self.tmp}/shared/standins/calls.jsonl") as f:
            text = f.read()
        for secret in (ADMIN_PW, BOT_PW, VIEWER_PW, *self.tokens.values()):
            self.assertNotIn(secret, text)
        for entry in requests:
            self.assertNotIn("?", entry["path"])

    def test_99_responses_match_swagger(self):
        self.assertTrue(os.path.exists(VENV_PYTHON), "no /opt/islet-test-tools: run scripts/install-dependencies")
        self.assertGreater(len(self.responses), 60)
        done = subprocess.run([VENV_PYTHON, CHECKER, SWAGGER], input="\n".join(json.dumps(r) for r in self.responses),
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertIn(f"swagger check: {len(self.responses)} responses, 0 failures", done.stdout)


if __name__ == "__main__":
    unittest.main()
