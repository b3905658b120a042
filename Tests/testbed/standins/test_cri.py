"""Tests of the container runtime stand-ins (containerd, ctr, crictl, runc, shim, CNI plugins), the registry host
resolution they share, the build of the upstream-shaped artifacts, the stand-in images and the real-containerd
proof. No testbed: the node's files live under ISLET_STANDIN_ROOT in a temp folder; a real docker-registry is
started on 127.0.41.21 (loopback only) for the pulls.

    python3 -m unittest discover -s Tests/testbed/standins -p 'test_*.py'
"""

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "src")
TEMP = tempfile.mkdtemp(prefix="islet-cri-")
ROOT = os.path.join(TEMP, "root")
ENV = dict(os.environ, ISLET_STANDIN_SHARED=os.path.join(TEMP, "shared"), ISLET_STANDIN_RUN=os.path.join(TEMP, "run"),
           ISLET_STANDIN_NODE="node1", ISLET_STANDIN_ROOT=ROOT, PYTHONPATH=SRC)
sys.path.insert(0, SRC)

from standins import common, containerd, registry_hosts  # noqa: E402

REGISTRY_ADDRESS = "127.0.41.21"
IMAGES = ["registry.k8s.io/pause:3.10.2", "ghcr.io/flannel-io/flannel:v0.28.9"]
registry = {}


def free_port(address):
    with socket.socket() as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def write(path, text):
    full = ROOT + path if path.startswith("/") else path
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as f:
        f.write(textwrap.dedent(text))
    return full


def run(program, *args, env=None):
    return subprocess.run([sys.executable, "-m", f"standins.{program}", *args], env=env or ENV,
                          capture_output=True, text=True, timeout=60)


def calls(program):
    path = os.path.join(ENV["ISLET_STANDIN_SHARED"], "standins", "calls.jsonl")
    with open(path) as f:
        return [json.loads(line) for line in f if json.loads(line)["program"] == program]


def setUpModule():
    # In-process calls read node files under ROOT too; set here, not through the environment, so the other
    # test modules of the same run keep their own settings
    registry["saved_root"], common.ROOT = common.ROOT, ROOT
    port = free_port(REGISTRY_ADDRESS)
    registry["addr"] = f"{REGISTRY_ADDRESS}:{port}"
    registry["dir"] = os.path.join(TEMP, "images")
    result = subprocess.run([os.path.join(HERE, "images"), "serve", registry["addr"], registry["dir"], *IMAGES],
                            capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        tearDownModule()  # unittest skips it when setUpModule fails
        raise RuntimeError(f"images serve failed: {result.stderr}")
    with open(os.path.join(registry["dir"], "images.json")) as f:
        registry["built"] = {entry["image"]: entry for entry in json.load(f)}


def tearDownModule():
    common.ROOT = registry.get("saved_root", "/")
    subprocess.run([os.path.join(HERE, "images"), "stop", registry.get("dir", TEMP)], timeout=30)
    shutil.rmtree(TEMP, ignore_errors=True)


class ConfigTests(unittest.TestCase):
    path = "/etc/containerd/config.toml"

    def load(self, text):
        write(self.path, text)
        return containerd.load_config(self.path)

    def refused(self, text, expected):
        with self.assertRaises(containerd.ConfigError) as raised:
            self.load(text)
        self.assertIn(expected, str(raised.exception))

    def test_version_3_config_of_the_stacks_is_effective(self):
        config = self.load("""\
            version = 3
            [plugins.'io.containerd.cri.v1.images'.pinned_images]
              sandbox = 'registry.islet.internal:5000/registry.k8s.io/pause:3.10.2'
            [plugins.'io.containerd.cri.v1.images'.registry]
              config_path = '/etc/containerd/certs.d'
            [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
              SystemdCgroup = true
            """)
        self.assertEqual(config["sandbox"], "registry.islet.internal:5000/registry.k8s.io/pause:3.10.2")
        self.assertEqual(config["configPath"], "/etc/containerd/certs.d")
        self.assertTrue(config["systemdCgroup"])
        self.assertEqual(config["address"], "/run/containerd/containerd.sock")
        self.assertIn("Configuration migrated from version 3", config["warnings"][0])

    def test_version_2_is_migrated_like_containerd_2(self):
        config = self.load("""\
            version = 2
            [plugins."io.containerd.grpc.v1.cri"]
              sandbox_image = "reg:5000/registry.k8s.io/pause:3.10.2"
            [plugins."io.containerd.grpc.v1.cri".registry]
              config_path = "/etc/containerd/certs.d"
            [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
              SystemdCgroup = true
            """)
        self.assertEqual((config["sandbox"], config["configPath"], config["systemdCgroup"]),
                         ("reg:5000/registry.k8s.io/pause:3.10.2", "/etc/containerd/certs.d", True))
        self.assertIn("Configuration migrated from version 2", config["warnings"][0])

    def test_version_3_keys_under_the_old_plugin_are_ignored(self):
        config = self.load("""\
            version = 3
            [plugins."io.containerd.grpc.v1.cri"]
              sandbox_image = "reg:5000/pause:3.10.2"
            """)
        self.assertEqual(config["sandbox"], containerd.DEFAULT_SANDBOX)
        self.assertEqual(config["configPath"], registry_hosts.DEFAULT_CONFIG_PATH)
        self.assertTrue(any("Ignoring unknown key" in w for w in config["warnings"]))

    def test_registry_credentials_in_cri_configs(self):
        config = self.load("""\
            version = 3
            [plugins.'io.containerd.cri.v1.images'.registry]
              config_path = '/etc/containerd/certs.d'
            [plugins.'io.containerd.cri.v1.images'.registry.configs.'registry.islet.internal:5000'.auth]
              username = 'islet'
              password = 'secret'
            """)
        self.assertEqual(config["auths"], {"registry.islet.internal:5000": ("islet", "secret")})
        self.assertTrue(any("deprecated" in w for w in config["warnings"]))
        self.refused("version = 3\n[plugins.'io.containerd.cri.v1.images'.registry.configs.'r:5000'.tls]\n"
                     "insecure_skip_verify = true\n", "registry.configs.r:5000: tls is no longer supported")
        self.refused("version = 3\n[plugins.'io.containerd.cri.v1.images'.registry.configs.'r:5000'.auth]\n"
                     "user = 'islet'\n", "unknown field user in AuthConfig")

    def test_refusals(self):
        self.refused("version = 3\n[plugins\n", "failed to load TOML from /etc/containerd/config.toml")
        self.refused("version = 1\n", "config version `1` is no longer supported")
        self.refused("[grpc]\naddress = '/run/x.sock'\n", "config version `0` is no longer supported")
        self.refused("version = 5\n", "expected containerd config version equal to or less than `4`, got `5`")
        self.refused("version = 3\nsandbox_image = 'x'\n", "strict mode: fields in the document are missing")
        self.refused("version = 3\n[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]\n"
                     "SystemdCgroup = 'true'\n", "cannot decode TOML string into struct field Options.SystemdCgroup "
                                                 "of type bool")
        self.refused("version = 3\n[plugins.'io.containerd.cri.v1.images'.pinned_images]\nsandbox = 3\n",
                     "of type string")
        self.refused("version = 3\n[plugins.'io.containerd.cri.v1.images'.registry]\nconfig_path = ['/a']\n",
                     "cannot decode TOML array into struct field Registry.ConfigPath")

    def test_daemon_refuses_an_invalid_config_and_the_call_is_recorded(self):
        write(self.path, "version = 3\n[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]\n"
                         "SystemdCgroup = 1\n")
        result = run("containerd")
        self.assertEqual(result.returncode, 1)
        self.assertIn("containerd: failed to load plugin io.containerd.cri.v1.runtime", result.stderr)
        self.assertEqual(calls("containerd")[-1]["exit"], 1)

    def test_versions(self):
        self.assertEqual(run("containerd", "--version").stdout.split()[:3],
                         ["containerd", "github.com/containerd/containerd/v2", "v2.3.4"])
        self.assertEqual(run("runc", "--version").stdout.splitlines()[0], "runc version 1.4.3")
        self.assertEqual(run("crictl", "--version").stdout.strip(), "crictl version v1.36.0")
        self.assertIn("Version:  v2.3.4", run("containerd_shim", "-v").stdout)
        refused = run("runc", "run", "x")
        self.assertEqual(refused.returncode, 1)
        self.assertIn("containers cannot run in the testbed", refused.stderr)

    def test_cni_plugin(self):
        env = dict(ENV, CNI_COMMAND="VERSION")
        script = "import sys; sys.argv[0] = '/opt/cni/bin/portmap'; from standins import cni_plugin; cni_plugin.main()"
        version = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
        self.assertEqual(version.returncode, 0)
        self.assertIn("1.1.0", json.loads(version.stdout)["supportedVersions"])
        add = subprocess.run([sys.executable, "-c", script], env=dict(ENV, CNI_COMMAND="ADD"), capture_output=True,
                             text=True)
        self.assertEqual(add.returncode, 1)
        self.assertIn("portmap", json.loads(add.stdout)["msg"])
        self.assertEqual(calls("portmap")[-1]["exit"], 1)


class ResolutionTests(unittest.TestCase):
    """hosts.toml resolution, checked against containerd's hosts.go rules."""

    def setUp(self):
        # config_path as the node sees it; the files are under ISLET_STANDIN_ROOT
        self.certs = f"/certs-{self._testMethodName}"
        os.makedirs(ROOT + self.certs)

    def hosts_toml(self, namespace, text):
        directory = os.path.join(ROOT + self.certs, namespace)
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "hosts.toml"), "w") as f:
            f.write(textwrap.dedent(text))
        return directory

    def hosts(self, namespace, config_path=None):
        return [(h["scheme"], h["host"], h["path"], h["capabilities"])
                for h in registry_hosts.describe_hosts(namespace, config_path or self.certs)]

    def test_override_path_mirror_then_upstream_server(self):
        self.hosts_toml("registry.k8s.io", """\
            server = "https://registry.k8s.io"
            [host."http://reg.internal:5000/v2/registry.k8s.io"]
              capabilities = ["pull", "resolve"]
              override_path = true
            """)
        self.assertEqual(self.hosts("registry.k8s.io"), [
            ("http", "reg.internal:5000", "/v2/registry.k8s.io", ["pull", "resolve"]),
            ("https", "registry.k8s.io", "/v2", ["pull", "resolve", "push"])])

    def test_without_override_path_v2_is_appended(self):
        self.hosts_toml("registry.k8s.io", """\
            [host."http://reg.internal:5000/v2/registry.k8s.io"]
            """)
        self.assertEqual(self.hosts("registry.k8s.io")[0][2], "/v2/registry.k8s.io/v2")

    def test_server_only_and_missing_server_defaults_to_the_namespace(self):
        self.hosts_toml("reg.internal:5000", 'server = "http://reg.internal:5000"\n')
        self.assertEqual(self.hosts("reg.internal:5000"), [("http", "reg.internal:5000", "/v2",
                                                            ["pull", "resolve", "push"])])
        self.hosts_toml("quay.io", '[host."https://mirror.internal"]\n  capabilities = ["pull"]\n')
        self.assertEqual(self.hosts("quay.io"), [("https", "mirror.internal", "/v2", ["pull"]),
                                                 ("https", "quay.io", "/v2", ["pull", "resolve", "push"])])

    def test_host_order_is_file_order_and_host_port_dir_wins(self):
        self.hosts_toml("reg.internal:5000", 'server = "http://wrong:1"\n')
        self.hosts_toml("reg.internal_5000_", """\
            [host."http://b:1"]
            [host."http://a:1"]
            [host."http://a:1".header]
              x-test = "1"
            """)
        self.assertEqual([h[1] for h in self.hosts("reg.internal:5000")], ["b:1", "a:1", "reg.internal:5000"])

    def test_default_dir_and_several_roots(self):
        other = f"/other-{self._testMethodName}"
        os.makedirs(os.path.join(ROOT + other, "ghcr.io"))
        with open(os.path.join(ROOT + other, "ghcr.io", "hosts.toml"), "w") as f:
            f.write('server = "http://second:5000"\n')
        self.hosts_toml("_default", 'server = "http://fallback:5000"\n')
        self.assertEqual(self.hosts("ghcr.io", f"{self.certs}:{other}")[0][1], "fallback:5000")
        self.assertEqual(self.hosts("ghcr.io", f"/nonexistent:{other}")[0][1], "second:5000")

    def test_no_dir_default_hosts(self):
        self.assertEqual(self.hosts("registry.k8s.io"), [("https", "registry.k8s.io", "/v2",
                                                          ["pull", "resolve", "push"])])
        self.assertEqual(self.hosts("docker.io")[0][:2], ("https", "registry-1.docker.io"))
        local = registry_hosts.describe_hosts("127.0.41.9:5000", self.certs)[0]
        self.assertEqual((local["scheme"], local["skip_verify"], local["http_fallback"]), ("http", True, True))
        self.assertEqual(registry_hosts.describe_hosts("localhost", self.certs)[0]["scheme"], "https")

    def test_unreadable_hosts_toml_falls_back_to_the_default_host(self):
        self.hosts_toml("registry.k8s.io", '[host."http://reg:5000"]\n  capabilities = ["pull", "fetch"]\n')
        self.assertEqual(self.hosts("registry.k8s.io"), [("https", "registry.k8s.io", "/v2",
                                                          ["pull", "resolve", "push"])])
        self.hosts_toml("ghcr.io", 'server = "http://reg:5000"\n[host."x"\n')
        self.assertEqual(self.hosts("ghcr.io")[0][1], "ghcr.io")

    def test_relative_ca_and_skip_verify(self):
        directory = self.hosts_toml("reg:5000", """\
            [host."http://reg:5000"]
              ca = "reg.crt"
              skip_verify = true
            """)
        host = registry_hosts.describe_hosts("reg:5000", self.certs)[0]
        self.assertEqual(host["ca"], [os.path.join(directory, "reg.crt")])
        self.assertTrue(host["http_fallback"])

    def test_references_are_normalized_like_cri(self):
        self.assertEqual(str(registry_hosts.parse_reference("pause")), "docker.io/library/pause:latest")
        self.assertEqual(str(registry_hosts.parse_reference("reg:5000/a/b:1")), "reg:5000/a/b:1")
        with self.assertRaises(registry_hosts.PullError):
            registry_hosts.parse_reference("registry.k8s.io/Pause:1")

    def test_a_pull_that_would_leave_the_machine_fails_before_any_connection(self):
        with self.assertRaises(registry_hosts.PullError) as raised:
            registry_hosts.pull("registry.k8s.io/pause:3.10.2", self.certs)
        self.assertIn('failed to resolve reference "registry.k8s.io/pause:3.10.2": failed to do request: Head '
                      '"https://registry.k8s.io/v2/pause/manifests/3.10.2": dial tcp: lookup registry.k8s.io',
                      str(raised.exception))
        self.assertIn("no such host", str(raised.exception))
        self.assertFalse(raised.exception.not_found)
        # a name the node's /etc/hosts maps outside loopback is refused too
        write("/etc/hosts", "127.0.0.1 localhost\n10.1.2.3 far.example\n")
        self.hosts_toml("far.example", 'server = "http://far.example:5000"\n')
        with self.assertRaises(registry_hosts.PullError) as raised:
            registry_hosts.pull("far.example/a:1", self.certs)
        self.assertIn("dial tcp 10.1.2.3:5000: connect: network is unreachable", str(raised.exception))


class PullTests(unittest.TestCase):
    """The daemon, ctr and crictl against a real docker-registry on 127.0.41.21."""

    @classmethod
    def setUpClass(cls):
        addr = registry["addr"]
        write("/etc/containerd/config.toml", f"""\
            version = 3
            [plugins.'io.containerd.cri.v1.images'.pinned_images]
              sandbox = 'registry.k8s.io/pause:3.10.2'
            [plugins.'io.containerd.cri.v1.images'.registry]
              config_path = '/etc/containerd/certs.d'
            [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
              SystemdCgroup = true
            """)
        port = addr.rsplit(":", 1)[1]
        write("/etc/hosts", f"127.0.0.1 localhost\n{REGISTRY_ADDRESS} registry.islet.internal\n")
        write("/etc/containerd/certs.d/registry.k8s.io/hosts.toml", f"""\
            server = "https://registry.k8s.io"
            [host."http://registry.islet.internal:{port}/v2/registry.k8s.io"]
              capabilities = ["pull", "resolve"]
              override_path = true
            """)
        write(f"/etc/containerd/certs.d/registry.islet.internal:{port}/hosts.toml", f"""\
            server = "http://registry.islet.internal:{port}"
            [host."http://registry.islet.internal:{port}"]
              capabilities = ["pull", "resolve", "push"]
            """)
        write("/etc/crictl.yaml", "runtime-endpoint: unix:///run/containerd/containerd.sock\n")
        cls.port = port
        cls.daemon = subprocess.Popen([sys.executable, "-m", "standins.containerd"], env=ENV,
                                      stdout=subprocess.DEVNULL, stderr=open(os.path.join(TEMP, "containerd.log"), "w"))
        socket_path = ROOT + "/run/containerd/containerd.sock"
        for _ in range(100):
            if os.path.exists(socket_path):
                break
            time.sleep(0.05)

    @classmethod
    def tearDownClass(cls):
        if cls.daemon.poll() is None:
            cls.daemon.terminate()
            cls.daemon.wait(10)

    def test_1_pull_through_hosts_toml_and_list(self):
        pause = registry["built"]["registry.k8s.io/pause:3.10.2"]
        pulled = run("crictl", "pull", "registry.k8s.io/pause:3.10.2")
        self.assertEqual(pulled.returncode, 0, pulled.stderr)
        self.assertEqual(pulled.stdout.strip(), f"Image is up to date for {pause['config']}")
        internal = run("crictl", "pull", f"registry.islet.internal:{self.port}/ghcr.io/flannel-io/flannel:v0.28.9")
        self.assertEqual(internal.returncode, 0, internal.stderr)
        listed = run("crictl", "images").stdout.splitlines()
        self.assertEqual(listed[0].split(), ["IMAGE", "TAG", "IMAGE", "ID", "SIZE"])
        self.assertTrue(any(line.split()[:3] == ["registry.k8s.io/pause", "3.10.2", pause["config"][7:20]]
                            for line in listed), listed)
        images = json.loads(run("crictl", "images", "-o", "json").stdout)["images"]
        pinned = [i for i in images if i["repoTags"] == ["registry.k8s.io/pause:3.10.2"]][0]
        self.assertEqual(pinned["repoDigests"], [f"registry.k8s.io/pause@{pause['index']}"])
        self.assertTrue(pinned["pinned"])
        self.assertEqual(run("crictl", "inspecti", "-q", "registry.k8s.io/pause:3.10.2").stdout.strip(),
                         pause["config"])
        self.assertEqual(run("ctr", "-n", "k8s.io", "images", "ls", "-q").stdout.split(),
                         sorted([f"registry.islet.internal:{self.port}/ghcr.io/flannel-io/flannel:v0.28.9",
                                 "registry.k8s.io/pause:3.10.2"]))
        self.assertIsNone(self.daemon.poll(), "the daemon stays up")

    def test_2_missing_tag_and_upstream_only_names_fail(self):
        missing = run("crictl", "pull", "registry.k8s.io/pause:9.9")
        self.assertEqual(missing.returncode, 1)
        self.assertIn('level=fatal msg="pulling image: rpc error: code = NotFound desc = failed to pull and unpack '
                      'image \\"registry.k8s.io/pause:9.9\\": failed to resolve reference', missing.stderr)
        self.assertEqual(calls("crictl")[-1]["exit"], 1)
        offline = run("crictl", "pull", "ghcr.io/flannel-io/flannel:v0.28.9")
        self.assertEqual(offline.returncode, 1)
        self.assertIn("lookup ghcr.io", offline.stderr)
        # a loopback registry without a hosts dir: https first, plain http after the TLS error, as containerd does
        by_address = run("crictl", "pull", f"{registry['addr']}/registry.k8s.io/pause:3.10.2")
        self.assertEqual(by_address.returncode, 0, by_address.stderr)
        # certs.d changes apply without a restart, as in containerd
        write("/etc/containerd/certs.d/ghcr.io/hosts.toml",
              f'[host."http://registry.islet.internal:{self.port}/v2/ghcr.io"]\n  override_path = true\n')
        self.assertEqual(run("crictl", "pull", "ghcr.io/flannel-io/flannel:v0.28.9").returncode, 0)

    def test_3_info_version_and_daemon_down(self):
        info = json.loads(run("crictl", "info").stdout)
        conditions = {c["type"]: c["status"] for c in info["status"]["conditions"]}
        self.assertEqual(conditions, {"RuntimeReady": True, "NetworkReady": False})
        self.assertTrue(info["config"]["containerd"]["runtimes"]["runc"]["options"]["SystemdCgroup"])
        write("/etc/cni/net.d/10-flannel.conflist", '{"name": "cbr0", "cniVersion": "0.3.1", "plugins": []}')
        info = json.loads(run("crictl", "info").stdout)
        self.assertTrue(info["status"]["conditions"][1]["status"])
        self.assertIn("Server:\n  Version:  v2.3.4", run("ctr", "version").stdout)
        effective = os.path.join(ENV["ISLET_STANDIN_RUN"], "containerd", "effective-config.json")
        with open(effective) as f:
            self.assertEqual(json.load(f)["configPath"], "/etc/containerd/certs.d")
        self.daemon.terminate()
        self.assertEqual(self.daemon.wait(10), 0)
        down = run("ctr", "version")
        self.assertEqual(down.returncode, 1)
        self.assertIn('ctr: failed to dial "/run/containerd/containerd.sock"', down.stderr)
        self.assertIn("connect: no such file or directory", down.stderr)
        crictl_down = run("crictl", "info")
        self.assertEqual(crictl_down.returncode, 1)
        self.assertIn("validate CRI v1 runtime API", crictl_down.stderr)
        self.assertEqual(calls("containerd")[-1]["exit"], 0)

    def test_4_real_containerd_pulls_the_same_digest_through_hosts_toml(self):
        if os.geteuid() != 0 or not shutil.which("containerd"):
            self.skipTest("needs root and Debian's containerd")
        certs = os.path.join(TEMP, "real-certs")
        os.makedirs(os.path.join(certs, "registry.k8s.io"))
        shutil.copy(ROOT + "/etc/containerd/certs.d/registry.k8s.io/hosts.toml",
                    os.path.join(certs, "registry.k8s.io", "hosts.toml"))
        # containerd 1.6 reads the node's real /etc/hosts: name the registry by address here
        with open(os.path.join(certs, "registry.k8s.io", "hosts.toml")) as f:
            text = f.read().replace("registry.islet.internal", REGISTRY_ADDRESS)
        with open(os.path.join(certs, "registry.k8s.io", "hosts.toml"), "w") as f:
            f.write(text)
        result = subprocess.run([os.path.join(HERE, "real-containerd-pull"), certs, "registry.k8s.io/pause:3.10.2"],
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.strip(), registry["built"]["registry.k8s.io/pause:3.10.2"]["index"])
        missing = subprocess.run([os.path.join(HERE, "real-containerd-pull"), certs, "registry.k8s.io/pause:9.9"],
                                 capture_output=True, text=True, timeout=60)
        self.assertEqual(missing.returncode, 1)
        self.assertIn("pull of registry.k8s.io/pause:9.9 failed", missing.stderr)


class BuildTests(unittest.TestCase):
    def digests(self, directory):
        result = {}
        for name in sorted(os.listdir(directory)):
            with open(os.path.join(directory, name), "rb") as f:
                result[name] = hashlib.sha256(f.read()).hexdigest()
        return result

    def test_build_is_reproducible_and_upstream_shaped(self):
        first, second = os.path.join(TEMP, "build1"), os.path.join(TEMP, "build2")
        for out in (first, second):
            result = subprocess.run([os.path.join(HERE, "build"), out], capture_output=True, text=True, timeout=120)
            self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self.digests(os.path.join(first, "artifacts")),
                         self.digests(os.path.join(second, "artifacts")))
        artifacts = os.path.join(first, "artifacts")

        def members(name):
            with tarfile.open(os.path.join(artifacts, name)) as tar:
                return sorted(m.name for m in tar.getmembers() if m.isfile())

        self.assertEqual(members("containerd-2.3.4-linux-amd64.tar.gz"),
                         ["bin/containerd", "bin/containerd-shim-runc-v2", "bin/ctr"])
        self.assertEqual(members("cni-plugins-linux-amd64-v1.9.1.tgz"),
                         ["./bandwidth", "./bridge", "./firewall", "./host-local", "./loopback", "./portmap"])
        self.assertEqual(members("crictl-v1.36.0-linux-amd64.tar.gz"), ["crictl"])
        self.assertEqual(members("registry_3.1.1_linux_amd64.tar.gz"), ["LICENSE", "README.md", "registry"])
        self.assertTrue(os.access(os.path.join(artifacts, "runc.amd64"), os.X_OK))
        version = subprocess.run([os.path.join(first, "crictl"), "--version"], env=ENV, capture_output=True, text=True)
        self.assertEqual(version.stdout.strip(), "crictl version v1.36.0")
        runc = subprocess.run([os.path.join(artifacts, "runc.amd64"), "--version"], env=ENV, capture_output=True,
                              text=True)
        self.assertEqual(runc.stdout.splitlines()[0], "runc version 1.4.3")

    def test_images_are_reproducible(self):
        out = os.path.join(TEMP, "images-again")
        result = subprocess.run([os.path.join(HERE, "images"), out, *IMAGES], capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stderr)
        again = dict(line.split() for line in result.stdout.splitlines())
        self.assertEqual(again, {image: entry["index"] for image, entry in registry["built"].items()})


if __name__ == "__main__":
    unittest.main()
