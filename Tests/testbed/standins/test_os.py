"""Tests of the OS stand-ins (systemctl, modprobe, lsmod, sysctl, swapon, swapoff, iptables, ip6tables).

Each test runs the programs as processes (python3 -m standins.X) against a temp root
(ISLET_STANDIN_ROOT: unit files, /etc/fstab, sysctl.d ...), a temp node state (ISLET_STANDIN_RUN) and
shared folder (ISLET_STANDIN_SHARED), so no testbed is needed. Run:
    python3 -m unittest discover -s Tests/testbed/standins -p 'test_*.py'
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "src")


def slurp(path):
    """The file's text, or '' when it does not exist (yet)."""
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


class Node(unittest.TestCase):
    """A temp node: root, run and shared folders, and a way to call the stand-ins in it."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="islet-standins-os-")
        self.root = os.path.join(self.tmp, "root")
        self.run_dir = os.path.join(self.tmp, "run")
        self.shared = os.path.join(self.tmp, "shared")
        for d in (self.root, self.run_dir, self.shared):
            os.makedirs(d)
        self.env = dict(os.environ, ISLET_STANDIN_ROOT=self.root, ISLET_STANDIN_RUN=self.run_dir,
                        ISLET_STANDIN_SHARED=self.shared, ISLET_STANDIN_NODE="node9", PYTHONPATH=SRC)
        self.addCleanup(self.stop_all_units)
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def stop_all_units(self):
        """Kills every supervisor and unit process a test left (by their recorded pids)."""
        folder = os.path.join(self.run_dir, "systemd", "state")
        for entry in os.listdir(folder) if os.path.isdir(folder) else []:
            with open(os.path.join(folder, entry)) as f:
                state = json.load(f)
            for key in ("supervisor", "main"):
                if state.get(key) and self.alive(state[key]):
                    try:
                        os.killpg(state[key][0], signal.SIGKILL) if key == "main" else \
                            os.kill(state[key][0], signal.SIGKILL)
                    except ProcessLookupError:
                        pass

    @staticmethod
    def alive(record):
        try:
            with open(f"/proc/{record[0]}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            return False
        return fields[0] != "Z" and fields[19] == record[1]

    def call(self, program, *args, argv0=None):
        module = {"ip6tables": "iptables"}.get(program, program)
        code = f"import sys; sys.argv[0] = {argv0 or program!r}; from standins.{module} import main; main()"
        return subprocess.run([sys.executable, "-c", code, *args], env=self.env, capture_output=True, text=True,
                              timeout=60)

    def ok(self, program, *args):
        result = self.call(program, *args)
        self.assertEqual(result.returncode, 0, f"{program} {args}: {result.stderr}")
        return result.stdout

    def write(self, path, text, mode=0o644):
        full = os.path.join(self.root, path.lstrip("/"))
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(textwrap.dedent(text))
        os.chmod(full, mode)
        return full

    def state(self, unit):
        with open(os.path.join(self.run_dir, "systemd", "state", unit + ".json")) as f:
            return json.load(f)

    def wait_for(self, predicate, timeout=10.0, what="condition"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.02)
        self.fail(f"timed out waiting for {what}")

    def calls(self):
        with open(os.path.join(self.shared, "standins", "calls.jsonl")) as f:
            return [json.loads(line) for line in f]


class SystemctlTest(Node):
    def unit(self, name, text, folder="/etc/systemd/system"):
        return self.write(f"{folder}/{name}", text)

    def sleeper(self, name="demo.service", extra="", folder="/etc/systemd/system"):
        self.unit(name, f"""\
            [Unit]
            Description=Demo sleeper
            [Service]
            ExecStart=/bin/sleep 300
            {extra}
            [Install]
            WantedBy=multi-user.target
            """, folder)

    def test_unknown_unit_is_refused_like_systemd(self):
        result = self.call("systemctl", "start", "nope")
        self.assertEqual((result.returncode, result.stderr.strip()),
                         (5, "Failed to start nope.service: Unit nope.service not found."))
        result = self.call("systemctl", "stop", "nope.service")
        self.assertEqual(result.returncode, 5)
        self.assertIn("Unit nope.service not loaded.", result.stderr)
        result = self.call("systemctl", "is-active", "nope")
        self.assertEqual((result.returncode, result.stdout), (3, "inactive\n"))
        result = self.call("systemctl", "is-enabled", "nope")
        self.assertEqual(result.returncode, 1)
        self.assertIn("Failed to get unit file state for nope.service: No such file or directory", result.stderr)
        self.assertEqual(self.call("systemctl", "status", "nope").returncode, 4)
        self.assertEqual(self.call("systemctl", "frobnicate", "nope").returncode, 1)
        record = self.calls()[0]
        self.assertEqual((record["program"], record["argv"], record["exit"], record["node"]),
                         ("systemctl", ["start", "nope"], 5, "node9"))

    def test_start_runs_detached_and_stop_kills_the_process_group(self):
        out = os.path.join(self.tmp, "child.pid")
        self.unit("group.service", f"""\
            [Service]
            ExecStart=/bin/sh -c 'sleep 301 & echo $$! > {out}; wait'
            """)
        self.ok("systemctl", "start", "group")
        self.assertEqual(self.ok("systemctl", "is-active", "group"), "active\n")
        state = self.state("group.service")
        self.assertTrue(self.alive(state["main"]))
        self.assertNotEqual(os.getsid(state["main"][0]), os.getsid(0), "the unit must run in its own session")
        self.assertEqual(os.readlink(f"/proc/{state['main'][0]}/fd/0"), "/dev/null")
        child = int(self.wait_for(lambda: slurp(out).strip(), what="child pid"))
        self.assertIn("active (running)", self.call("systemctl", "status", "group").stdout)
        self.ok("systemctl", "stop", "group")
        self.assertFalse(self.alive(state["main"]))
        stat = slurp(f"/proc/{child}/stat")
        self.assertFalse(stat and stat.split(") ")[1][0] != "Z", "the child survived stop")
        result = self.call("systemctl", "is-active", "group")
        self.assertEqual((result.returncode, result.stdout), (3, "inactive\n"))
        self.assertEqual(self.call("systemctl", "status", "group").returncode, 3)

    def test_restart_always_brings_a_killed_process_back(self):
        self.sleeper(extra="Restart=always\nRestartSec=0.1")
        self.ok("systemctl", "start", "demo")
        first = self.state("demo.service")["main"]
        os.kill(first[0], signal.SIGKILL)
        second = self.wait_for(lambda: (s := self.state("demo.service")).get("main") not in (None, first)
                               and s["main"], what="a new main process")
        self.assertTrue(self.alive(second))
        self.assertEqual(self.ok("systemctl", "is-active", "demo"), "active\n")
        self.assertEqual(self.state("demo.service")["restarts"], 1)

    def test_without_restart_a_killed_unit_is_failed_or_inactive(self):
        self.sleeper()
        self.ok("systemctl", "start", "demo")
        os.kill(self.state("demo.service")["main"][0], signal.SIGKILL)
        result = self.call("systemctl", "is-active", "demo")
        self.assertEqual((result.returncode, result.stdout), (3, "failed\n"))
        self.assertEqual(self.ok("systemctl", "is-failed", "demo"), "failed\n")
        self.ok("systemctl", "start", "demo")
        os.kill(self.state("demo.service")["main"][0], signal.SIGTERM)  # a clean exit for systemd
        result = self.call("systemctl", "is-active", "demo")
        self.assertEqual((result.returncode, result.stdout), (3, "inactive\n"))

    def test_crash_loop_hits_the_start_limit(self):
        self.unit("crash.service", """\
            [Service]
            ExecStart=/bin/false
            Restart=always
            RestartSec=0.05
            """)
        self.call("systemctl", "start", "crash")
        self.wait_for(lambda: self.state("crash.service")["active"] == "failed", what="start limit")
        self.assertEqual(self.state("crash.service")["result"], "start-limit-hit")
        self.assertIn("Start request repeated too quickly",
                      slurp(os.path.join(self.run_dir, "systemd", "log", "crash.service.log")))

    def test_environment_and_command_line_as_systemd_expands_them(self):
        out = os.path.join(self.tmp, "argv")
        self.write("/etc/default/demo", """\
            # comment
            FROM_FILE="file value"
            OVERRIDDEN=from-file
            """)
        self.unit("args.service", f"""\
            [Service]
            Environment="SPLIT=a  b" ONE=x \\
              OVERRIDDEN=from-unit
            Environment=QUOTED='q r'
            EnvironmentFile=-/etc/default/missing
            EnvironmentFile=/etc/default/demo
            ExecStart=/bin/sh -c 'printf "%%s\\n" "$$@" > {out}; exec sleep 300' sh \\
                $SPLIT ${{SPLIT}} pre${{ONE}}post $UNSET ${{UNSET}} "$QUOTED" $FROM_FILE $OVERRIDDEN
            """)
        self.ok("systemctl", "start", "args")
        self.wait_for(lambda: slurp(out).endswith("\n"), what="argv file")
        time.sleep(0.1)
        with open(out) as f:
            argv = f.read().split("\n")[:-1]
        self.assertEqual(argv, ["a", "b", "a  b", "prexpost", "", "q", "r", "file", "value", "from-file"])

    def test_missing_environment_file_fails_the_start(self):
        self.unit("envfail.service", """\
            [Service]
            EnvironmentFile=/etc/default/absent
            ExecStart=/bin/sleep 300
            """)
        result = self.call("systemctl", "start", "envfail")
        self.assertEqual(result.returncode, 1)
        self.assertIn("Job for envfail.service failed because of unavailable resources", result.stderr)
        self.assertEqual(self.call("systemctl", "is-active", "envfail").stdout, "failed\n")

    def test_drop_in_resets_exec_start(self):
        out = os.path.join(self.tmp, "which")
        self.unit("kubelet.service", f"""\
            [Unit]
            Description=kubelet: The Kubernetes Node Agent
            [Service]
            ExecStart=/bin/sh -c 'echo main > {out}; exec sleep 300'
            Restart=always
            StartLimitInterval=0
            RestartSec=10
            [Install]
            WantedBy=multi-user.target
            """, folder="/usr/lib/systemd/system")
        self.write("/etc/systemd/system/kubelet.service.d/10-kubeadm.conf", f"""\
            [Service]
            Environment="ARGS=--from-drop-in"
            ExecStart=
            ExecStart=/bin/sh -c 'echo "drop-in $$1" > {out}; exec sleep 300' sh $ARGS
            """)
        self.ok("systemctl", "start", "kubelet")
        self.wait_for(lambda: slurp(out), what="output")
        self.assertEqual(slurp(out), "drop-in --from-drop-in\n")
        status = self.call("systemctl", "status", "kubelet").stdout
        self.assertIn("Drop-In: /etc/systemd/system/kubelet.service.d", status)
        self.assertIn("10-kubeadm.conf", status)
        self.assertIn("Loaded: loaded (/usr/lib/systemd/system/kubelet.service", status)

    def test_two_exec_starts_without_reset_are_a_bad_setting(self):
        self.sleeper(folder="/usr/lib/systemd/system")
        self.write("/etc/systemd/system/demo.service.d/override.conf", "[Service]\nExecStart=/bin/sleep 1\n")
        result = self.call("systemctl", "start", "demo")
        self.assertEqual(result.returncode, 1)
        self.assertIn("Unit demo.service has a bad unit file setting.", result.stderr)
        self.assertIn("Loaded: bad-setting", self.call("systemctl", "status", "demo").stdout)

    def test_changed_unit_needs_daemon_reload(self):
        out = os.path.join(self.tmp, "version")

        def write(version):
            self.unit("ver.service", f"[Service]\nExecStart=/bin/sh -c 'echo {version} > {out}; exec sleep 300'\n")

        def started_version():
            self.wait_for(lambda: slurp(out), what="version")
            with open(out) as f:
                value = f.read().strip()
            os.unlink(out)
            return value

        write("v1")
        self.ok("systemctl", "start", "ver")
        self.assertEqual(started_version(), "v1")
        time.sleep(0.01)
        write("v2")
        os.utime(os.path.join(self.root, "etc/systemd/system/ver.service"), (time.time() + 5, time.time() + 5))
        status = self.call("systemctl", "status", "ver").stdout
        self.assertIn("changed on disk. Run 'systemctl daemon-reload' to reload units.", status)
        result = self.call("systemctl", "restart", "ver")
        self.assertEqual(result.returncode, 0)
        self.assertIn("Run 'systemctl daemon-reload'", result.stderr)
        self.assertEqual(started_version(), "v1", "a stale unit runs until daemon-reload")
        self.ok("systemctl", "daemon-reload")
        self.assertNotIn("changed on disk", self.call("systemctl", "status", "ver").stdout)
        self.ok("systemctl", "restart", "ver")
        self.assertEqual(started_version(), "v2")

    def test_enable_disable_and_is_enabled(self):
        self.sleeper()
        self.unit("static.service", "[Service]\nExecStart=/bin/true\n")
        result = self.call("systemctl", "is-enabled", "demo")
        self.assertEqual((result.returncode, result.stdout), (1, "disabled\n"))
        result = self.call("systemctl", "enable", "--now", "demo")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("Created symlink /etc/systemd/system/multi-user.target.wants/demo.service \u2192 "
                      "/etc/systemd/system/demo.service.", result.stderr)
        link = os.path.join(self.root, "etc/systemd/system/multi-user.target.wants/demo.service")
        self.assertEqual(os.readlink(link), "/etc/systemd/system/demo.service")
        self.assertEqual(self.ok("systemctl", "is-enabled", "demo"), "enabled\n")
        self.assertEqual(self.ok("systemctl", "is-active", "demo"), "active\n")
        self.assertEqual(self.ok("systemctl", "is-enabled", "static"), "static\n")
        self.assertIn("no installation config", self.call("systemctl", "enable", "static").stderr)
        result = self.call("systemctl", "disable", "--now", "demo")
        self.assertIn('Removed "/etc/systemd/system/multi-user.target.wants/demo.service".', result.stderr)
        self.assertFalse(os.path.lexists(link))
        self.assertEqual(self.call("systemctl", "is-active", "demo").stdout, "inactive\n")
        result = self.call("systemctl", "enable", "nope")
        self.assertEqual((result.returncode, result.stderr.strip()),
                         (1, "Failed to enable unit: Unit file nope.service does not exist."))

    def test_oneshot_remain_after_exit(self):
        self.unit("once.service", "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n"
                                  "ExecStart=/bin/true\n")
        self.ok("systemctl", "start", "once")
        self.assertEqual(self.ok("systemctl", "is-active", "once"), "active\n")
        self.unit("oncefail.service", "[Service]\nType=oneshot\nExecStart=/bin/false\n")
        result = self.call("systemctl", "start", "oncefail")
        self.assertEqual(result.returncode, 1)
        self.assertIn("the control process exited with error code", result.stderr)

    def test_boot_starts_enabled_units_loads_modules_applies_sysctl_and_swap(self):
        self.sleeper(extra="Restart=always")
        self.ok("systemctl", "enable", "demo")
        self.write("/etc/modules-load.d/k8s.conf", "# modules\noverlay\nbr_netfilter\n")
        self.write("/etc/sysctl.d/90-k8s.conf", "net.ipv4.ip_forward = 1\nnet.bridge.bridge-nf-call-iptables=1\n"
                                                "net.bridge.bridge-nf-call-ip6tables = 0\n")
        self.write("/etc/fstab", "# <fs> <mount> <type>\n/swap.img none swap sw 0 0\n#/old.img none swap sw 0 0\n")
        shutil.rmtree(self.run_dir)  # a reboot: /run is empty
        os.makedirs(self.run_dir)
        self.assertEqual(self.call("systemctl", "is-active", "demo").stdout, "inactive\n")
        result = self.call("systemctl", "--islet-testbed-boot")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self.ok("systemctl", "is-active", "demo"), "active\n")
        self.assertIn("br_netfilter", self.ok("lsmod"))
        self.assertEqual(self.ok("sysctl", "-n", "net.ipv4.ip_forward"), "1\n")
        self.assertEqual(self.ok("sysctl", "-n", "net.bridge.bridge-nf-call-ip6tables"), "0\n")
        self.assertEqual(self.ok("swapon", "--show=NAME", "--noheadings"), "/swap.img\n")
        again = self.call("systemctl", "--islet-testbed-boot")
        self.assertEqual(again.returncode, 1)
        self.assertIn("booted already", again.stderr)


class KernelTest(Node):
    def test_modprobe_known_and_unknown_modules(self):
        result = self.call("modprobe", "nosuchmod")
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stderr.strip(),
                         f"modprobe: FATAL: Module nosuchmod not found in directory /lib/modules/{os.uname().release}")
        self.assertEqual(self.call("modprobe", "-q", "nosuchmod").stderr, "")
        self.ok("modprobe", "br_netfilter")
        lines = self.ok("lsmod").splitlines()
        self.assertEqual(lines[0], "Module                  Size  Used by")
        names = [line.split()[0] for line in lines[1:]]
        self.assertEqual(names[0], "br_netfilter")
        self.assertIn("bridge", names)
        self.assertIn("br_netfilter", next(line for line in lines if line.startswith("bridge ")))
        result = self.call("modprobe", "overlay", "br_netfilter")
        self.assertEqual(result.returncode, 1)
        self.assertIn("could not insert 'overlay': Unknown symbol in module, or unknown parameter", result.stderr)
        result = self.call("modprobe", "-r", "bridge")
        self.assertEqual(result.returncode, 1)
        self.assertIn("Module bridge is in use", result.stderr)
        self.ok("modprobe", "-a", "overlay", "ip_vs")
        self.ok("modprobe", "-r", "br_netfilter")
        self.assertNotIn("br_netfilter", self.ok("lsmod"))

    def test_sysctl_bridge_keys_exist_only_with_br_netfilter(self):
        key = "net.bridge.bridge-nf-call-iptables"
        result = self.call("sysctl", key)
        self.assertEqual((result.returncode, result.stderr.strip()),
                         (255, "sysctl: cannot stat /proc/sys/net/bridge/bridge-nf-call-iptables: "
                               "No such file or directory"))
        self.assertEqual(self.call("sysctl", "-w", f"{key}=1").returncode, 255)
        self.assertEqual(self.call("sysctl", "-e", "-n", key).returncode, 0)
        self.ok("modprobe", "br_netfilter")
        self.assertEqual(self.ok("sysctl", key), f"{key} = 1\n")
        self.assertEqual(self.ok("sysctl", "-w", f"{key}=0"), f"{key} = 0\n")
        self.assertEqual(self.ok("sysctl", "-n", "net/bridge/bridge-nf-call-iptables"), "0\n")
        self.ok("modprobe", "-r", "br_netfilter")
        self.assertEqual(self.call("sysctl", key).returncode, 255)

    def test_sysctl_write_read_files_and_system(self):
        self.assertEqual(self.ok("sysctl", "net.ipv4.ip_forward"), "net.ipv4.ip_forward = 0\n")
        self.assertEqual(self.ok("sysctl", "-q", "net.ipv4.ip_forward=1"), "")
        self.assertEqual(self.ok("sysctl", "-n", "net.ipv4.ip_forward"), "1\n")
        result = self.call("sysctl", "-w", "net.ipv4.ip_forward=yes")
        self.assertEqual((result.returncode, result.stderr.strip()),
                         (255, 'sysctl: setting key "net.ipv4.ip_forward": Invalid argument'))
        self.assertEqual(self.call("sysctl", "-n", "no.such.key").returncode, 255)
        result = self.call("sysctl", "-p")
        self.assertEqual((result.returncode, result.stderr.strip()),
                         (255, 'sysctl: cannot open "/etc/sysctl.conf": No such file or directory'))
        self.write("/usr/lib/sysctl.d/50-vendor.conf", "vm.swappiness = 10\nnet.ipv4.ip_forward = 0\n")
        self.write("/etc/sysctl.d/50-vendor.conf", "vm.swappiness = 20\n")  # hides the vendor file
        self.write("/etc/sysctl.d/90-k8s.conf", "net.ipv4.ip_forward=1\n-net.bridge.bridge-nf-call-iptables = 1\n")
        self.write("/etc/sysctl.conf", "# nothing but\nvm.overcommit_memory = 1\n")
        result = self.call("sysctl", "--system")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.splitlines(), [
            "* Applying /etc/sysctl.d/50-vendor.conf ...", "vm.swappiness = 20",
            "* Applying /etc/sysctl.d/90-k8s.conf ...", "net.ipv4.ip_forward = 1",
            "* Applying /etc/sysctl.conf ...", "vm.overcommit_memory = 1"])
        self.write("/etc/sysctl.d/91-bridge.conf", "net.bridge.bridge-nf-call-ip6tables = 1\n")
        result = self.call("sysctl", "--system")
        self.assertEqual(result.returncode, 255)
        self.assertIn("cannot stat /proc/sys/net/bridge/bridge-nf-call-ip6tables", result.stderr)
        self.assertIn("vm.overcommit_memory = 1", result.stdout, "the other files still apply")

    def test_swap_on_off_show(self):
        self.assertEqual(self.ok("swapon", "--show"), "")
        self.write("/etc/fstab", "UUID=x / ext4 defaults 0 1\n/swap.img\tnone\tswap\tsw\t0\t0\n"
                                 "/extra.img none swap sw,noauto 0 0\n")
        self.ok("swapon", "-a")
        self.assertEqual(self.ok("swapon", "--show").splitlines(),
                         ["NAME      TYPE SIZE USED PRIO", "/swap.img file   2G   0B   -2"])
        self.assertEqual(self.ok("swapon", "--show", "--noheadings", "--bytes", "--raw"),
                         "/swap.img file 2147479552 0 -2\n")
        self.assertEqual(self.call("swapon", "/swap.img").returncode, 255)
        self.ok("swapoff", "-a")
        self.assertEqual(self.ok("swapon", "--show"), "")
        result = self.call("swapoff", "/swap.img")
        self.assertEqual((result.returncode, result.stderr.strip()),
                         (4, "swapoff: /swap.img: swapoff failed: Invalid argument"))


class IptablesTest(Node):
    def test_flush_list_and_refusals(self):
        self.ok("iptables", "-N", "KUBE-TEST")
        self.ok("iptables", "-A", "INPUT", "-p", "tcp", "-j", "KUBE-TEST")
        self.ok("iptables", "-t", "nat", "-A", "POSTROUTING", "-s", "10.244.0.0/16", "-j", "MASQUERADE")
        self.assertEqual(self.ok("iptables", "-S").splitlines(),
                         ["-P INPUT ACCEPT", "-P FORWARD ACCEPT", "-P OUTPUT ACCEPT", "-N KUBE-TEST",
                          "-A INPUT -p tcp -j KUBE-TEST"])
        result = self.call("iptables", "-X", "KUBE-TEST")
        self.assertEqual(result.returncode, 1)
        self.assertIn("Device or resource busy", result.stderr)
        self.ok("iptables", "-F")
        self.ok("iptables", "-X")
        self.assertEqual(self.ok("iptables", "-S").splitlines(),
                         ["-P INPUT ACCEPT", "-P FORWARD ACCEPT", "-P OUTPUT ACCEPT"])
        self.assertIn("MASQUERADE", self.ok("iptables", "-t", "nat", "-L", "-n"))
        self.ok("iptables", "-t", "nat", "-F")
        self.ok("iptables", "-t", "mangle", "-F")
        self.assertNotIn("MASQUERADE", self.ok("iptables", "-t", "nat", "-L", "POSTROUTING"))
        listing = self.ok("iptables", "-L").splitlines()
        self.assertEqual(listing[0], "Chain INPUT (policy ACCEPT)")
        result = self.call("iptables", "-t", "bogus", "-F")
        self.assertEqual(result.returncode, 3)
        self.assertIn("can't initialize iptables table `bogus'", result.stderr)
        result = self.call("iptables", "-F", "NOPE")
        self.assertEqual((result.returncode, result.stderr.strip()),
                         (1, "iptables: No chain/target/match by that name."))
        result = self.call("iptables")
        self.assertEqual(result.returncode, 2)
        self.assertIn("no command specified", result.stderr)

    def test_ip6tables_has_its_own_rules(self):
        self.ok("iptables", "-A", "FORWARD", "-j", "ACCEPT")
        self.assertNotIn("-A FORWARD", self.ok("ip6tables", "-S"))
        self.assertIn("ip6tables v1.8.9", self.ok("ip6tables", "--version"))
        self.assertEqual(self.calls()[-1]["program"], "ip6tables")


if __name__ == "__main__":
    unittest.main()
