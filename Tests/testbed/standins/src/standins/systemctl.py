"""systemctl stand-in: a small service manager for a testbed node, without systemd.

    systemctl daemon-reload
    systemctl start|stop|restart|reset-failed U...
    systemctl enable [--now] U... | disable [--now] U...
    systemctl is-active [--quiet] U... | is-enabled [--quiet] U... | is-failed [--quiet] U...
    systemctl status U...
    systemctl --islet-testbed-boot          (the testbed's "boot", see boot())

Units are read as systemd reads them (unitfile.py). A started service really runs: a supervisor process
per unit (its own session, detached, stdin /dev/null) spawns ExecStartPre= and ExecStart= with the unit's
environment, appends their output and its own journal-like lines to ``$NODE_RUN/systemd/log/U.log``,
restarts per Restart=/RestartSec= within StartLimitIntervalSec=/StartLimitBurst=, and on stop sends
SIGTERM (then SIGKILL after TimeoutStopSec=) to the unit's processes: the main process's group and every
process of the supervisor's session (KillMode=control-group, the default), or the main process only
(KillMode=process).

State in ``$NODE_RUN/systemd/`` (lost at a node's reboot, as systemd's is):

    loaded/U.json    the unit as loaded (at first use or the last daemon-reload): a changed file is
                     not used until daemon-reload, and status/start warn about it, as systemd does
    state/U.json     active state, sub state, result, supervisor and main pid with their start times
    log/U.log        the unit's output and journal lines

Enabling links ``/etc/systemd/system/TARGET.wants/U`` as systemd does; the boot starts every service
linked from a ``*.target.wants`` folder of /etc/systemd/system.
"""

import os
import signal
import sys
import time

from . import common, kernel, unitfile

MANAGER_ENV = {"PATH": unitfile.DEFAULT_PATH, "LANG": "C.UTF-8"}
ACTIVE_STATES = ("active", "reloading", "activating", "deactivating")
STALE = ("Warning: The unit file, source configuration file or drop-ins of {0} changed on disk. "
         "Run 'systemctl daemon-reload' to reload units.")
CLEAN_SIGNALS = (signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGPIPE)
AUTH = "Interactive authentication required."


def _dir(*parts):
    return os.path.join(common.NODE_RUN, "systemd", *parts)


# --- processes -------------------------------------------------------------------------------------

def proc_stat(pid):
    """(state letter, session id, start time) of pid, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            line = f.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = line[line.rindex(")") + 2:].split()
    return fields[0], int(fields[3]), fields[19]


def start_time(pid):
    stat = proc_stat(pid)
    return stat[2] if stat else None


def alive(record):
    """record = [pid, start time]: that very process exists and is no zombie."""
    if not record:
        return False
    stat = proc_stat(record[0])
    return bool(stat) and stat[0] != "Z" and stat[2] == record[1]


def session_members(session):
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = proc_stat(int(entry))
            if stat and stat[1] == session and stat[0] != "Z":
                members.append(int(entry))
    return members


def _kill(pid, sig):
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _killpg(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


# --- loaded units and state ------------------------------------------------------------------------

def loaded(name):
    """The unit as loaded now: the stored copy, or (first use) read from disk and stored."""
    unit = common.read_json(_dir("loaded", name + ".json"))
    if unit is not None:
        return unit
    unit = unitfile.load(name)
    if unit is not None:
        try:
            common.write_json_atomically(_dir("loaded", name + ".json"), unit)
        except PermissionError:
            pass  # a user's status/is-active: the next root call stores it
    return unit


def is_stale(unit):
    return unit is not None and unitfile.fingerprint(unit["name"]) != unit["fingerprint"]


def daemon_reload():
    folder = _dir("loaded")
    for entry in os.listdir(folder) if os.path.isdir(folder) else []:
        name = entry[:-len(".json")]
        unit = unitfile.load(name)
        if unit is None:
            os.unlink(os.path.join(folder, entry))
        else:
            common.write_json_atomically(os.path.join(folder, entry), unit)


def read_state(name):
    return common.read_json(_dir("state", name + ".json"), None)


def write_state(name, state):
    common.write_json_atomically(_dir("state", name + ".json"), state)


def active_state(name, settle=True):
    """(active state, sub state, state record) as systemd would report them."""
    state = read_state(name)
    if state is None:
        return "inactive", "dead", None
    if state["active"] in ACTIVE_STATES and state.get("supervisor") and not alive(state["supervisor"]):
        # the supervisor was killed from outside: nothing manages the unit any more
        return "failed", "failed", state
    if settle and state["active"] == "active" and state.get("main") and not alive(state["main"]):
        # the main process just died: give its supervisor a moment to record what happens next
        for _ in range(100):
            time.sleep(0.01)
            fresh = read_state(name)
            if fresh is None or fresh.get("main") != state.get("main") or fresh["active"] != "active":
                return active_state(name, settle=False)
    return state["active"], state["sub"], state


class _UnitLock:
    """One systemctl at a time per unit (two `start`s must not spawn two supervisors)."""

    def __init__(self, name):
        self.path = _dir("lock", name)

    def __enter__(self):
        import fcntl
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        self.handle = open(self.path, "a")
        fcntl.flock(self.handle, fcntl.LOCK_EX)

    def __exit__(self, *exc):
        self.handle.close()


def journal(name, message):
    """A journal-like line in the unit's log."""
    os.makedirs(_dir("log"), exist_ok=True)
    stamp = time.strftime("%b %d %H:%M:%S")
    line = f"{stamp} {common.node_name()} systemd[1]: {message}\n"
    fd = os.open(_dir("log", name + ".log"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


# --- the supervisor --------------------------------------------------------------------------------

class Supervisor:
    def __init__(self, name, invocation, state):
        self.name = name
        self.invocation = invocation
        self.state = state
        self.stopping = False
        self.main = None  # pid
        self.session = os.getsid(0)

    def save(self, **changes):
        self.state.update(changes)
        write_state(self.name, self.state)

    # signals: SIGTERM = stop the unit; SIGALRM = stop timeout reached
    def on_term(self, *_):
        # only flags and signals here: the main flow owns the state file
        if self.stopping:
            return
        self.stopping = True
        self.signal_unit(signal.SIGTERM)
        unit = loaded(self.name) or {}
        timeout = unit.get("timeout_stop", 90.0)
        if timeout != float("inf"):
            signal.setitimer(signal.ITIMER_REAL, max(timeout, 0.05))

    def on_alarm(self, *_):
        journal(self.name, f"{self.name}: State 'stop-sigterm' timed out. Killing.")
        self.signal_unit(signal.SIGKILL)

    def signal_unit(self, sig):
        unit = loaded(self.name) or {}
        if self.main:
            if unit.get("kill_mode") == "process":
                _kill(self.main, sig)
            else:
                _killpg(self.main, sig)
        if unit.get("kill_mode", "control-group") == "control-group":
            for pid in session_members(self.session):
                if pid != os.getpid():
                    _kill(pid, sig)

    def kill_leftovers(self):
        """After the main process: the rest of the unit's processes go too (KillMode=control-group)."""
        unit = loaded(self.name) or {}
        if unit.get("kill_mode", "control-group") not in ("control-group", "mixed"):
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            others = [p for p in session_members(self.session) if p != os.getpid()]
            if not others:
                return
            for pid in others:
                _kill(pid, sig)
            for _ in range(100):
                time.sleep(0.01)
                if not [p for p in session_members(self.session) if p != os.getpid()]:
                    return

    def spawn(self, unit, command, env, log_fd):
        """Forks one command of the unit; returns its pid (exit 203 in the child when it cannot exec)."""
        path, argv = unitfile.command_argv(command, env)
        executable = unitfile.find_executable(path) if path else None
        # no stop signal between fork and exec: the child must not run the supervisor's handlers
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGALRM})
        pid = os.fork()
        if pid == 0:
            try:
                os.setpgid(0, 0)
                for sig in (signal.SIGTERM, signal.SIGPIPE, signal.SIGINT, signal.SIGHUP, signal.SIGALRM):
                    signal.signal(sig, signal.SIG_DFL)
                signal.pthread_sigmask(signal.SIG_SETMASK, set())
                null = os.open("/dev/null", os.O_RDONLY)
                os.dup2(null, 0)
                os.dup2(log_fd, 1)
                os.dup2(log_fd, 2)
                if executable is None:
                    os.write(2, f"{self.name}: Failed to locate executable {path}: No such file or directory\n"
                             .encode())
                    os._exit(203)
                workdir = unit.get("working_directory") or "/"
                try:
                    os.chdir(workdir.lstrip("-") or "/")
                except OSError:
                    if not workdir.startswith("-"):
                        os.write(2, f"{self.name}: Changing to the requested working directory failed\n".encode())
                        os._exit(200)
                if unit.get("user") and "+" not in command["flags"]:
                    import pwd
                    entry = pwd.getpwnam(unit["user"])
                    os.initgroups(entry.pw_name, entry.pw_gid)
                    os.setgid(entry.pw_gid)
                    os.setuid(entry.pw_uid)
                os.execve(executable, argv, env)
            except BaseException as error:  # noqa: BLE001 - the child must never return
                try:
                    os.write(2, f"{self.name}: Failed to execute {path}: {error}\n".encode())
                finally:
                    os._exit(203)
        self.main = pid
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGALRM})
        if self.stopping:  # a stop came in just before the fork
            self.signal_unit(signal.SIGTERM)
        return pid

    def wait(self, pid):
        """Exit status of pid: ('exited', code) or ('killed', signal number)."""
        while True:
            try:
                _, status = os.waitpid(pid, 0)
                break
            except ChildProcessError:
                return "exited", 0
            except InterruptedError:
                continue
        if os.WIFSIGNALED(status):
            return "killed", os.WTERMSIG(status)
        return "exited", os.WEXITSTATUS(status)

    @staticmethod
    def describe(kind, value):
        if kind == "killed":
            return f"code=killed, status={value}/{signal.Signals(value).name[3:]}"
        names = {0: "SUCCESS", 1: "FAILURE", 2: "INVALIDARGUMENT", 200: "CHDIR", 203: "EXEC"}
        return f"code=exited, status={value}/{names.get(value, str(value))}"

    def run(self):
        signal.signal(signal.SIGTERM, self.on_term)
        signal.signal(signal.SIGALRM, self.on_alarm)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        while True:
            outcome = self.attempt()
            unit = loaded(self.name) or {}
            if self.stopping or outcome == "stopped":
                self.kill_leftovers()
                signal.setitimer(signal.ITIMER_REAL, 0)
                self.save(active="inactive", sub="dead", main=None, supervisor=None, result="success",
                          since=time.time())
                journal(self.name, f"Stopped {unit.get('description', self.name)}.")
                return
            kind, value, result = outcome
            clean = (kind == "exited" and value == 0) or (kind == "killed" and value in CLEAN_SIGNALS
                                                            and unit.get("type") != "oneshot")
            restart = unit.get("restart", "no")
            again = (restart == "always" or (restart == "on-failure" and not clean) or
                     (restart == "on-success" and clean) or
                     (restart in ("on-abnormal", "on-abort") and kind == "killed" and not clean))
            if result in ("start-limit-hit", "bad-setting"):
                again = False
            if result == "success" and unit.get("type") == "oneshot" and unit.get("remain_after_exit"):
                self.save(active="active", sub="exited", main=None, supervisor=None, result="success",
                          since=time.time())
                journal(self.name, f"Finished {unit.get('description', self.name)}.")
                return
            if clean and result == "signal":
                result = "success"  # SIGTERM & co. end a service cleanly
            if not again:
                failed = not clean or result != "success"
                self.save(active="failed" if failed else "inactive", sub="failed" if failed else "dead",
                          main=None, supervisor=None, result=result if failed else "success",
                          since=time.time())
                if failed:
                    journal(self.name, f"{self.name}: Failed with result '{result}'.")
                return
            self.save(active="activating", sub="auto-restart", main=None, result=result, since=time.time())
            deadline = time.time() + unit.get("restart_sec", 0.1)
            while time.time() < deadline and not self.stopping:
                time.sleep(min(0.05, max(deadline - time.time(), 0)))
            if self.stopping:
                continue
            self.state["restarts"] = self.state.get("restarts", 0) + 1
            journal(self.name, f"{self.name}: Scheduled restart job, restart counter is at "
                               f"{self.state['restarts']}.")

    def start_limit_hit(self, unit):
        interval, burst = unit.get("start_limit_interval", 10.0), unit.get("start_limit_burst", 5)
        now = time.time()
        starts = [t for t in self.state.get("starts", []) if interval and now - t < interval]
        starts.append(now)
        self.state["starts"] = starts
        return bool(interval) and burst > 0 and len(starts) > burst

    def attempt(self):
        """One start of the unit: ('exited'|'killed', value, result) or 'stopped'."""
        unit = loaded(self.name)
        if unit is None or unit.get("error"):  # removed or broken, then daemon-reload
            return "exited", 1, "bad-setting"
        if self.start_limit_hit(unit):
            journal(self.name, f"{self.name}: Start request repeated too quickly.")
            return "exited", 1, "start-limit-hit"
        self.save(active="activating", sub="start-pre" if unit["exec_start_pre"] else "start",
                  since=time.time())
        env = dict(MANAGER_ENV)
        env.update({k: v for k, v in os.environ.items() if k.startswith("ISLET_STANDIN_")})
        env["INVOCATION_ID"] = self.invocation
        try:
            env.update(unitfile.load_environment(unit))
        except OSError as error:
            journal(self.name, f"{self.name}: {error}")
            return "exited", 1, "resources"
        log_fd = os.open(_dir("log", self.name + ".log"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            for command in unit["exec_start_pre"]:
                if self.stopping:
                    return "stopped"
                self.main = self.spawn(unit, command, env, log_fd)
                kind, value = self.wait(self.main)
                self.main = None
                if (kind, value) != ("exited", 0) and "-" not in command["flags"]:
                    journal(self.name, f"{self.name}: Control process exited, {self.describe(kind, value)}")
                    return kind, value, "exit-code" if kind == "exited" else "signal"
            if self.stopping:
                return "stopped"
            journal(self.name, f"Starting {unit['description']}...")
            if unit["type"] == "oneshot":
                for command in unit["exec_start"]:
                    self.main = self.spawn(unit, command, env, log_fd)
                    self.save(main=[self.main, start_time(self.main)])
                    kind, value = self.wait(self.main)
                    self.main = None
                    if self.stopping:
                        return "stopped"
                    if (kind, value) != ("exited", 0) and "-" not in command["flags"]:
                        journal(self.name, f"{self.name}: Main process exited, {self.describe(kind, value)}")
                        return kind, value, "exit-code" if kind == "exited" else "signal"
                self.state["started"] = True
                return "exited", 0, "success"
            command = unit["exec_start"][0]
            self.main = self.spawn(unit, command, env, log_fd)
            self.save(active="active", sub="running", main=[self.main, start_time(self.main)],
                      since=time.time(), result="success", started=True)
            journal(self.name, f"Started {unit['description']}.")
            kind, value = self.wait(self.main)
            self.main = None
            if self.stopping:
                return "stopped"
            journal(self.name, f"{self.name}: Main process exited, {self.describe(kind, value)}")
            if "-" in command["flags"]:
                kind, value = "exited", 0
            return kind, value, "success" if (kind, value) == ("exited", 0) else (
                "exit-code" if kind == "exited" else "signal")
        finally:
            os.close(log_fd)


def spawn_supervisor(name):
    """Starts the unit's supervisor, detached (own session, stdin /dev/null, no inherited fds)."""
    invocation = os.urandom(16).hex()
    state = read_state(name) or {}
    state.update({"active": "activating", "sub": "start", "invocation": invocation, "main": None,
                  "supervisor": None, "since": time.time(), "restarts": 0, "started": False})
    write_state(name, state)
    os.makedirs(_dir("log"), exist_ok=True)
    child = os.fork()
    if child == 0:
        try:
            os.setsid()
            if os.fork() != 0:
                os._exit(0)
            os.chdir("/")
            os.umask(0o022)
            null = os.open("/dev/null", os.O_RDWR)
            log = os.open(_dir("log", name + ".log"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            os.dup2(null, 0)
            os.dup2(log, 1)
            os.dup2(log, 2)
            os.closerange(3, 65536)
            state["supervisor"] = [os.getpid(), start_time(os.getpid())]
            state["session"] = os.getsid(0)
            write_state(name, state)
            Supervisor(name, invocation, state).run()
        except BaseException as error:  # noqa: BLE001 - never return into the caller's code
            try:
                journal(name, f"supervisor of {name} failed: {error!r}")
            finally:
                os._exit(1)
        os._exit(0)
    os.waitpid(child, 0)
    return invocation


# --- verbs -----------------------------------------------------------------------------------------

class Context:
    def __init__(self):
        self.quiet = False
        self.now = False
        self.no_block = False
        self.code = 0

    def fail(self, message, code=1):
        print(message, file=sys.stderr)
        self.code = self.code or code


def need_root(context, what):
    if kernel.is_root():
        return True
    context.fail(f"Failed to {what}: {AUTH}")
    return False


def start(context, name):
    unit = loaded(name)
    if unit is None:
        context.fail(f"Failed to start {name}: Unit {name} not found.", 5)
        return
    if unit["masked"]:
        context.fail(f"Failed to start {name}: Unit {name} is masked.")
        return
    if is_stale(unit):
        print(STALE.format(name), file=sys.stderr)
    if unit.get("error"):
        context.fail(f"Failed to start {name}: Unit {name} has a bad unit file setting.\n"
                     f"See system logs and 'systemctl status {name}' for details.")
        return
    if not name.endswith(".service"):
        context.fail(f"Failed to start {name}: the testbed's systemctl runs services only")
        return
    with _UnitLock(name):
        active, sub, _ = active_state(name)
        if active == "deactivating":
            _wait_stopped(name)
            active, sub, _ = active_state(name)
        if active in ("active", "reloading") or (active == "activating" and sub != "auto-restart"):
            return
        if active == "activating":  # auto-restart pending: a start request restarts it now
            _stop_supervisor(name)
        invocation = spawn_supervisor(name)
        if context.no_block:
            return
        deadline = time.time() + 90
        while time.time() < deadline:
            state = read_state(name) or {}
            if state.get("invocation") != invocation:
                return  # someone else stopped or restarted it meanwhile
            if state.get("started"):
                return  # the job is done once the main process runs (Type=simple)
            if state["active"] in ("failed", "inactive") or state.get("sub") == "auto-restart":
                break
            time.sleep(0.01)
    state = read_state(name) or {}
    if state.get("active") == "inactive" and state.get("result") == "success":
        return
    reasons = {"exit-code": "the control process exited with error code",
               "signal": "the control process was killed by a signal",
               "start-limit-hit": "start of the service was attempted too often",
               "resources": "of unavailable resources or another system error"}
    reason = reasons.get(state.get("result"), "the service did not take the steps required by its unit "
                                              "configuration")
    context.fail(f"Job for {name} failed because {reason}.\n"
                 f"See \"systemctl status {name}\" and \"journalctl -xeu {name}\" for details.")


def _wait_stopped(name, timeout=100.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        state = read_state(name)
        if not state or not state.get("supervisor") or not alive(state["supervisor"]):
            return
        time.sleep(0.01)


def _stop_supervisor(name):
    state = read_state(name)
    if not state:
        return
    if state.get("supervisor") and alive(state["supervisor"]):
        _kill(state["supervisor"][0], signal.SIGTERM)
        _wait_stopped(name)
        state = read_state(name)
    if state and state.get("supervisor") and not alive(state["supervisor"]):
        # the supervisor is gone (killed from outside): stop what it left behind
        if state.get("main") and alive(state["main"]):
            _killpg(state["main"][0], signal.SIGKILL)
        if state.get("session"):
            for pid in session_members(state["session"]):
                _kill(pid, signal.SIGKILL)
        state.update(active="inactive", sub="dead", main=None, supervisor=None)
        write_state(name, state)


def stop(context, name):
    unit = loaded(name)
    state = read_state(name)
    if unit is None and state is None:
        context.fail(f"Failed to stop {name}: Unit {name} not loaded.", 5)
        return
    if is_stale(unit):
        print(STALE.format(name), file=sys.stderr)
    with _UnitLock(name):
        state = read_state(name)
        if state is None:
            return
        if state.get("supervisor"):
            _stop_supervisor(name)
        elif state.get("active") == "active":  # oneshot with RemainAfterExit=yes
            state.update(active="inactive", sub="dead", since=time.time())
            write_state(name, state)


def restart(context, name):
    if loaded(name) is None:
        context.fail(f"Failed to restart {name}: Unit {name} not found.", 5)
        return
    stop(context, name)
    start(context, name)


def reset_failed(context, name):
    state = read_state(name)
    if state and state.get("active") == "failed":
        state.update(active="inactive", sub="dead", starts=[])
        write_state(name, state)
    elif state:
        state["starts"] = []
        write_state(name, state)


def _wants_links(name):
    """Every enablement link of the unit in /etc/systemd/system."""
    base = common.rooted("/etc/systemd/system")
    links = []
    for entry in sorted(os.listdir(base)) if os.path.isdir(base) else []:
        if entry.endswith((".wants", ".requires")):
            link = os.path.join(base, entry, name)
            if os.path.islink(link) or os.path.exists(link):
                links.append(f"/etc/systemd/system/{entry}/{name}")
    return links


NO_INSTALL = """The unit files have no installation config (WantedBy=, RequiredBy=, Also=,
Alias= settings in the [Install] section, and DefaultInstance= for template
units). This means they are not meant to be enabled or disabled using systemctl.
 
Possible reasons for having this kind of units are:
• A unit may be statically enabled by being symlinked from another unit's
  .wants/ or .requires/ directory.
• A unit's purpose may be to act as a helper for some other unit which has
  a requirement dependency on it.
• A unit may be started when needed via activation (socket, path, timer,
  D-Bus, udev, scripted systemctl call, ...).
• In case of template units, the unit is meant to be enabled with some
  instance name specified."""


def enable(context, names):
    units = []
    for name in names:
        unit = unitfile.load(name)
        if unit is None:
            context.fail(f"Failed to enable unit: Unit file {name} does not exist.")
            return
        if unit["masked"]:
            context.fail(f"Failed to enable unit: Unit file {unit['path']} is masked.")
            return
        units.append(unit)
    for unit in units:
        if not unit["has_install"]:
            print(NO_INSTALL, file=sys.stderr)
            continue
        for target, kind in [(t, "wants") for t in unit["wanted_by"]] + [(t, "requires") for t in
                                                                           unit["required_by"]]:
            link = f"/etc/systemd/system/{target}.{kind}/{unit['name']}"
            real = common.rooted(link)
            if os.path.islink(real) and os.readlink(real) == unit["path"]:
                continue
            os.makedirs(os.path.dirname(real), exist_ok=True)
            if os.path.lexists(real):
                os.unlink(real)
            os.symlink(unit["path"], real)
            print(f"Created symlink {link} \u2192 {unit['path']}.", file=sys.stderr)
    daemon_reload()  # enable reloads the manager, as systemctl does
    if context.now:
        for unit in units:
            start(context, unit["name"])


def disable(context, names):
    for name in names:
        if unitfile.load(name) is None and not _wants_links(name):
            context.fail(f"Failed to disable unit: Unit file {name} does not exist.")
            return
    for name in names:
        for link in _wants_links(name):
            os.unlink(common.rooted(link))
            print(f"Removed \"{link}\".", file=sys.stderr)
    daemon_reload()
    if context.now:
        for name in names:
            stop(context, name)


def enablement(name):
    """is-enabled's answer, or None when there is no such unit file."""
    unit = unitfile.load(name)
    if unit is None:
        return None
    if unit["masked"]:
        return "masked"
    if _wants_links(name):
        return "enabled"
    return "disabled" if unit["has_install"] else "static"


def _since(when):
    ago = max(0, int(time.time() - when))
    text = f"{ago // 60}min {ago % 60}s ago" if ago >= 60 else f"{ago}s ago"
    return time.strftime("%a %Y-%m-%d %H:%M:%S %Z", time.localtime(when)) + "; " + text


def status(context, name):
    unit = loaded(name)
    active, sub, state = active_state(name)
    if unit is None and state is None:
        context.fail(f"Unit {name} could not be found.", 4)
        return
    dot = "\u25cf" if active in ("active", "failed", "activating") else "\u25cb"
    print(f"{dot} {name} - {(unit or {}).get('description', name)}")
    if unit is None:
        print("     Loaded: not-found (Reason: Unit " + name + " not found.)")
    elif unit["masked"]:
        print(f"     Loaded: masked ({unit['path']}; masked)")
    else:
        load_state = "bad-setting" if unit.get("error") else "loaded"
        print(f"     Loaded: {load_state} ({unit['path']}; {enablement(name) or 'disabled'}; preset: enabled)")
        folders = {}
        for dropin in unit["dropins"]:
            folders.setdefault(os.path.dirname(dropin), []).append(os.path.basename(dropin))
        for i, (folder, files) in enumerate(folders.items()):
            print(f"    {'Drop-In' if i == 0 else '       '}: {folder}")
            print(f"             \u2514\u2500{', '.join(files)}")
    line = f"     Active: {active} ({sub})"
    if state and state.get("since"):
        line += f" since {_since(state['since'])}"
    print(line)
    if state and state.get("main") and active == "active":
        pid = state["main"][0]
        try:
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip()
        except OSError:
            comm = "?"
        print(f"   Main PID: {pid} ({comm})")
    if is_stale(unit):
        print(STALE.format(name))
    try:
        with open(_dir("log", name + ".log"), errors="replace") as f:
            tail = f.read().splitlines()[-10:]
    except FileNotFoundError:
        tail = []
    if tail:
        print()
        print("\n".join(tail))
    if active not in ("active", "reloading"):
        context.code = context.code or 3


# --- boot --------------------------------------------------------------------------------------------

def _boot_order(names):
    """Services in an order that honours After= among themselves (systemd's ordering, simplified)."""
    ordered, pending = [], sorted(names)
    while pending:
        for name in pending:
            after = (loaded(name) or {}).get("after", [])
            if not any(other in pending and other != name for other in after):
                break
        else:
            name = pending[0]  # a cycle: systemd breaks it too
        ordered.append(name)
        pending.remove(name)
    return ordered


def boot(context):
    """What systemd does at boot for the parts the testbed simulates, in systemd's order:
    systemd-modules-load, systemd-sysctl, swap.target (fstab), then the enabled services."""
    from . import sysctl as sysctl_program
    marker = os.path.join(common.NODE_RUN, "booted")
    if os.path.exists(marker):
        context.fail("the node has booted already (its /run/islet-sim is not empty)")
        return
    os.makedirs(common.NODE_RUN, exist_ok=True)
    chosen = {}
    for folder in ("/etc/modules-load.d", "/run/modules-load.d", "/usr/local/lib/modules-load.d",
                   "/usr/lib/modules-load.d", "/lib/modules-load.d"):
        try:
            entries = os.listdir(common.rooted(folder))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            if entry.endswith(".conf") and entry not in chosen:
                chosen[entry] = os.path.join(folder, entry)
    for entry in sorted(chosen):
        try:
            with open(common.rooted(chosen[entry])) as f:
                lines = f.read().splitlines()
        except OSError:
            continue
        for line in lines:
            module = line.split("#")[0].strip()
            if not module or module.startswith(";"):
                continue
            try:
                kernel.load_module(module)
                print(f"systemd-modules-load: Inserted module '{kernel.canonical_module(module)}'")
            except KeyError:
                print(f"systemd-modules-load: Failed to find module '{module}'")
    options = sysctl_program._Options()
    options.quiet = True
    for path in sysctl_program.system_files():
        sysctl_program.apply_file(path, options)
    for device, fstab_options in kernel.fstab_swaps():
        if "noauto" not in fstab_options and kernel.activate_swap(device):
            print(f"systemd: Activated swap {device}.")
    wants = common.rooted("/etc/systemd/system")
    services = set()
    for entry in sorted(os.listdir(wants)) if os.path.isdir(wants) else []:
        if entry.endswith(".target.wants"):
            for name in os.listdir(os.path.join(wants, entry)):
                if name.endswith(".service"):
                    services.add(name)
    for name in _boot_order(services):
        before = context.code
        start(context, name)
        print(f"systemd: {'Started' if context.code == before else 'Failed to start'} {name}.")
        context.code = before  # one unit failing does not fail the boot
    with open(marker, "w") as f:
        f.write(f"{time.time()}\n")


# --- command line ----------------------------------------------------------------------------------

VERBS = {"daemon-reload", "start", "stop", "restart", "try-restart", "reload-or-restart", "enable", "disable",
         "is-active", "is-enabled", "is-failed", "status", "reset-failed"}


def body(args):
    context = Context()
    words = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg in ("-q", "--quiet"):
            context.quiet = True
        elif arg == "--now":
            context.now = True
        elif arg == "--no-block":
            context.no_block = True
        elif arg in ("--no-pager", "--system", "--no-legend", "-l", "--full", "--plain", "--no-ask-password",
                     "--no-reload"):
            pass
        elif arg in ("-n", "--lines"):
            i += 1
        elif arg.startswith("--lines="):
            pass
        elif arg == "--islet-testbed-boot":
            if not kernel.is_root():
                raise common.Refusal("the boot runs as root")
            boot(context)
            return context.code
        elif arg.startswith("-"):
            raise common.Refusal(f"unrecognized option '{arg}'", code=1)
        else:
            words.append(arg)
    if not words:
        raise common.Refusal("the testbed's systemctl needs a verb (list-units is not simulated)", code=1)
    verb, names = words[0], [unitfile.unit_name(n) for n in words[1:]]
    if verb not in VERBS:
        print(f"Unknown command verb '{verb}'.", file=sys.stderr)
        return 1
    if verb == "daemon-reload":
        if names:
            print("This command expects no arguments.", file=sys.stderr)
            return 1
        if need_root(context, "reload daemon"):
            daemon_reload()
        return context.code
    if not names:
        print("Too few arguments.", file=sys.stderr)
        return 1
    if verb in ("start", "stop", "restart", "try-restart", "reload-or-restart", "reset-failed"):
        if not need_root(context, f"{verb} {' '.join(names)}"):
            return context.code
        for name in names:
            if verb == "start":
                start(context, name)
            elif verb == "stop":
                stop(context, name)
            elif verb in ("restart", "reload-or-restart"):
                restart(context, name)
            elif verb == "try-restart":
                if active_state(name)[0] in ("active", "activating"):
                    restart(context, name)
            else:
                reset_failed(context, name)
        return context.code
    if verb in ("enable", "disable"):
        if need_root(context, f"{verb} unit"):
            (enable if verb == "enable" else disable)(context, names)
        return context.code
    if verb in ("is-active", "is-failed"):
        good = ("active", "reloading") if verb == "is-active" else ("failed",)
        found = False
        for name in names:
            active = active_state(name)[0]
            found |= active in good
            if not context.quiet:
                print(active)
        return 0 if found else (3 if verb == "is-active" else 1)
    if verb == "is-enabled":
        found = False
        for name in names:
            answer = enablement(name)
            if answer is None:
                if not context.quiet:
                    print(f"Failed to get unit file state for {name}: No such file or directory",
                          file=sys.stderr)
                continue
            found |= answer in ("enabled", "static", "alias", "indirect", "enabled-runtime", "generated")
            if not context.quiet:
                print(answer)
        return 0 if found else 1
    if verb == "status":
        for i, name in enumerate(names):
            if i:
                print()
            status(context, name)
        return context.code
    return 1


def main():
    raise SystemExit(common.run("systemctl", body))


if __name__ == "__main__":
    main()
