"""systemd unit files as systemd reads them: search path, drop-ins, syntax, Environment, command lines.

Used by the systemctl stand-in. What it follows from systemd.unit(5), systemd.service(5), systemd.exec(5):
- a unit is searched in /etc/systemd/system, /run/systemd/system, /usr/local/lib/systemd/system,
  /lib/systemd/system, /usr/lib/systemd/system (first wins); a symlink to /dev/null masks it;
- drop-ins ``U.d/*.conf`` from all of these folders, by file name (a name in a higher folder hides the
  same name below), applied in name order after the unit file;
- ``[Section]`` lines, ``Key=Value`` (spaces around = ignored), ``#``/``;`` comments, a trailing ``\\``
  continues the line (joined with a space); an empty value resets list settings (ExecStart=,
  Environment=, ...); other settings: the last assignment wins;
- Environment= takes quoted words ``"A=1 2" B=3``; EnvironmentFile= (``-`` prefix: may be missing) is read
  at each start, overriding Environment=;
- ExecStart= prefixes ``-@:+!``; words are split with quotes and C escapes at load time, then at exec
  time a word that is exactly ``$VAR`` becomes the value split at whitespace (zero or more words) and
  ``${VAR}`` (or ``$VAR`` inside a word) the value as it is; ``$$`` is ``$``.
"""

import os
import re

from . import common

SEARCH_PATH = ["/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system",
               "/lib/systemd/system", "/usr/lib/systemd/system"]
UNIT_TYPES = ("service", "socket", "target", "timer", "mount", "path", "slice", "scope", "device", "swap",
              "automount")
LIST_SETTINGS = {("Service", "ExecStart"), ("Service", "ExecStartPre"), ("Service", "ExecStartPost"),
                 ("Service", "ExecStop"), ("Service", "ExecStopPost"), ("Service", "Environment"),
                 ("Service", "EnvironmentFile"), ("Install", "WantedBy"), ("Install", "RequiredBy"),
                 ("Install", "Alias"), ("Install", "Also"), ("Unit", "After"), ("Unit", "Before"),
                 ("Unit", "Wants"), ("Unit", "Requires")}
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def unit_name(name):
    """systemctl's name mangling: a name without a unit type is a service."""
    if "." in name and name.rsplit(".", 1)[1] in UNIT_TYPES:
        return name
    return name + ".service"


# --- words -----------------------------------------------------------------------------------------

_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\",
            '"': '"', "'": "'", "s": " ", ";": ";", "$": "\\$"}


def _unescape(text, i):
    """C escape at text[i] (after the backslash): (characters, next index)."""
    c = text[i]
    if c in _ESCAPES:
        return _ESCAPES[c], i + 1
    if c == "x" and re.match(r"[0-9a-fA-F]{2}", text[i + 1:i + 3]):
        return chr(int(text[i + 1:i + 3], 16)), i + 3
    if c == "u" and re.match(r"[0-9a-fA-F]{4}", text[i + 1:i + 5]):
        return chr(int(text[i + 1:i + 5], 16)), i + 5
    if re.match(r"[0-7]{3}", text[i:i + 3]):
        return chr(int(text[i:i + 3], 8)), i + 3
    return c, i + 1


def split_words(text):
    """systemd's extract_first_word loop with EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE|EXTRACT_RELAX."""
    words, i, n = [], 0, len(text)
    while True:
        while i < n and text[i] in " \t\n\r":
            i += 1
        if i >= n:
            return words
        word, quote = [], None
        while i < n:
            c = text[i]
            if quote:
                if c == quote:
                    quote = None
                    i += 1
                elif c == "\\" and i + 1 < n:
                    chars, i = _unescape(text, i + 1)
                    word.append(chars)
                else:
                    word.append(c)
                    i += 1
            elif c in " \t\n\r":
                break
            elif c in "\"'":
                quote = c
                i += 1
            elif c == "\\" and i + 1 < n:
                chars, i = _unescape(text, i + 1)
                word.append(chars)
            else:
                word.append(c)
                i += 1
        words.append("".join(word))


_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*)|(\$))")


def expand_word(word, env):
    """${VAR} and $VAR inside a word: the value as it is (unset: empty); $$ is $; \\$ stays literal."""
    out, i = [], 0
    while i < len(word):
        if word.startswith("\\$", i):
            out.append("$")
            i += 2
            continue
        match = _VARIABLE.match(word, i)
        if match:
            if match.group(3):
                out.append("$")
            else:
                out.append(env.get(match.group(1) or match.group(2), ""))
            i = match.end()
        else:
            out.append(word[i])
            i += 1
    return "".join(out)


def expand_argv(words, env):
    """A word that is exactly $VAR: the value split at whitespace (unquoted); others: expand_word."""
    argv = []
    for word in words:
        match = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", word)
        if match:
            argv.extend(split_words(env.get(match.group(1), "")))
        else:
            argv.append(expand_word(word, env))
    return argv


def parse_command(value):
    """'-/usr/bin/x a "b c"' -> {"flags": "-", "words": [...]} (words still unexpanded)."""
    flags = ""
    while value and value[0] in "-@:+!":
        flags += value[0]
        value = value[1:]
    words = split_words(value)
    return {"flags": flags, "words": words, "line": value.strip()}


def command_argv(command, env):
    """(path, argv) of a parsed command at exec time."""
    words = command["words"] if ":" in command["flags"] else expand_argv(command["words"], env)
    if not words:
        return None, []
    path = words[0]
    argv = words[1:] if "@" in command["flags"] else words
    return path, argv


def find_executable(path):
    if "/" in path:
        return path if os.access(path, os.X_OK) and os.path.isfile(path) else None
    for folder in DEFAULT_PATH.split(":"):
        candidate = os.path.join(folder, path)
        if os.access(candidate, os.X_OK) and os.path.isfile(candidate):
            return candidate
    return None


# --- environment files -----------------------------------------------------------------------------

def parse_env_file(text):
    """systemd's load_env_file: KEY=VALUE lines, comments, quotes, escapes, backslash-newline."""
    env = {}
    lines = text.replace("\\\n", "").splitlines()
    for line in lines:
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            continue
        value = value.strip()
        out, i, quote = [], 0, None
        while i < len(value):
            c = value[i]
            if quote == "'":
                if c == "'":
                    quote = None
                else:
                    out.append(c)
            elif quote == '"':
                if c == '"':
                    quote = None
                elif c == "\\" and i + 1 < len(value) and value[i + 1] in '"\\`$':
                    i += 1
                    out.append(value[i])
                else:
                    out.append(c)
            elif c in "'\"":
                quote = c
            elif c == "\\" and i + 1 < len(value):
                i += 1
                out.append(value[i])
            elif c in "#" and out and out[-1] in " \t":
                break
            else:
                out.append(c)
            i += 1
        env[key] = "".join(out).rstrip() if quote is None else "".join(out)
    return env


def load_environment(unit):
    """Environment= then EnvironmentFile= (files override). OSError(path) for a missing required file."""
    env = dict(unit["environment"])
    for spec in unit["environment_files"]:
        optional = spec.startswith("-")
        path = spec[1:] if optional else spec
        try:
            with open(common.rooted(path)) as f:
                env.update(parse_env_file(f.read()))
        except (FileNotFoundError, IsADirectoryError, PermissionError) as error:
            if not optional:
                raise OSError(f"Failed to load environment files: {path}: {error.strerror}") from error
    return env


# --- parsing ---------------------------------------------------------------------------------------

def parse_text(text, path, assignments, warnings):
    """Appends (section, key, value) of one file; warnings get systemd-like messages."""
    section = None
    pending = ""
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if pending and line[:1] in ("#", ";"):
            continue  # comment lines inside a continuation are dropped
        if line.endswith("\\") and not line.endswith("\\\\"):
            pending += line[:-1] + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        if section is None:
            warnings.append(f"{path}:{number}: Assignment outside of section. Ignoring.")
            continue
        key, sep, value = line.partition("=")
        if not sep:
            warnings.append(f"{path}:{number}: Missing '=', ignoring line.")
            continue
        assignments.append((section, key.strip(), value.strip(), path, number))
    if pending.strip():
        assignments_line = pending.strip()
        key, sep, value = assignments_line.partition("=")
        if sep and section:
            assignments.append((section, key.strip(), value.strip(), path, 0))


def _specifiers(value, name):
    prefix = name.rsplit(".", 1)[0]
    table = {"n": name, "N": prefix, "p": prefix.split("@")[0], "i": prefix.split("@", 1)[1] if "@" in prefix
             else "", "t": "/run", "%": "%"}
    return re.sub(r"%(.)", lambda m: table.get(m.group(1), m.group(0)), value)


def timespan(value, default):
    """'10', '10s', '100ms', '1min 30s', 'infinity' -> seconds."""
    value = value.strip()
    if not value:
        return default
    if value == "infinity":
        return float("inf")
    units = {"us": 1e-6, "usec": 1e-6, "ms": 1e-3, "msec": 1e-3, "s": 1, "sec": 1, "second": 1, "seconds": 1,
             "m": 60, "min": 60, "minute": 60, "minutes": 60, "h": 3600, "hr": 3600, "hour": 3600,
             "hours": 3600, "d": 86400, "day": 86400, "days": 86400}
    total = 0.0
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", value)
    if not parts or re.sub(r"[\d.\sa-z]", "", value):
        raise ValueError(value)
    for number, unit in parts:
        if unit and unit not in units:
            raise ValueError(value)
        total += float(number) * units.get(unit, 1)
    return total


def find_fragment(name):
    """(display path, real file or None when masked) of the unit's main file, or None."""
    for folder in SEARCH_PATH:
        path = os.path.join(folder, name)
        real = common.rooted(path)
        if os.path.islink(real):
            target = os.readlink(real)
            if target == "/dev/null":
                return path, None
            if os.path.exists(real):
                return path, real
            continue
        if os.path.isfile(real):
            return path, real
    return None


def find_dropins(name):
    """Display paths of the unit's drop-ins, in the order systemd applies them."""
    chosen = {}
    for folder in SEARCH_PATH:
        directory = os.path.join(folder, name + ".d")
        try:
            entries = os.listdir(common.rooted(directory))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            if entry.endswith(".conf") and entry not in chosen:
                chosen[entry] = os.path.join(directory, entry)
    return [chosen[entry] for entry in sorted(chosen)]


def _stat(path):
    try:
        st = os.stat(common.rooted(path))
        return [path, st.st_mtime_ns, st.st_size]
    except FileNotFoundError:
        return [path, None, None]


def fingerprint(name):
    """What systemd compares to tell a unit changed on disk: the files, their times and sizes."""
    fragment = find_fragment(name)
    files = ([fragment[0]] if fragment else []) + find_dropins(name)
    return [_stat(path) for path in files] + [["masked", bool(fragment and fragment[1] is None)]]


def load(name):
    """The unit as systemd would load it now, or None when no file has it."""
    fragment = find_fragment(name)
    if fragment is None:
        return None
    display, real = fragment
    unit = {"name": name, "path": display, "dropins": find_dropins(name), "masked": real is None,
            "fingerprint": fingerprint(name), "warnings": [], "error": None}
    if real is None:
        return unit
    assignments = []
    files = [(display, real)] + [(d, common.rooted(d)) for d in unit["dropins"]]
    for shown, path in files:
        try:
            with open(path) as f:
                parse_text(f.read(), shown, assignments, unit["warnings"])
        except (FileNotFoundError, IsADirectoryError):
            continue
    settings = {}
    for section, key, value, path, number in assignments:
        value = _specifiers(value, name)
        if (section, key) in LIST_SETTINGS:
            values = settings.setdefault((section, key), [])
            if value == "":
                values.clear()
            elif key in ("WantedBy", "RequiredBy", "Alias", "Also", "After", "Before", "Wants", "Requires"):
                values.extend(value.split())
            else:
                values.append(value)
        else:
            settings[(section, key)] = value

    def get(section, key, default=""):
        return settings.get((section, key), default)

    environment = {}
    for value in get("Service", "Environment", []):
        for word in split_words(value):
            key, sep, val = word.partition("=")
            if sep and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
                environment[key] = val
            else:
                unit["warnings"].append(f"Invalid environment assignment, ignoring: {word}")
    service_type = get("Service", "Type", "simple")
    exec_start = [parse_command(v) for v in get("Service", "ExecStart", [])]
    if name.endswith(".service"):
        if service_type not in ("simple", "exec", "notify", "notify-reload", "oneshot", "forking", "idle",
                                "dbus"):
            unit["warnings"].append(f"Failed to parse service type, ignoring: {service_type}")
            service_type = "simple"
        if not exec_start:
            unit["error"] = "Service has no ExecStart=, ExecStop=, or SuccessAction=. Refusing."
        elif len(exec_start) > 1 and service_type != "oneshot":
            unit["error"] = ("Service has more than one ExecStart= setting, which is only allowed for "
                             "Type=oneshot services. Refusing.")
    restart = get("Service", "Restart", "no")
    if restart not in ("no", "always", "on-success", "on-failure", "on-abnormal", "on-abort", "on-watchdog"):
        unit["warnings"].append(f"Failed to parse service restart specifier, ignoring: {restart}")
        restart = "no"

    def span(section, key, default):
        try:
            return timespan(get(section, key, ""), default)
        except ValueError:
            unit["warnings"].append(f"Failed to parse {key}=, ignoring")
            return default

    interval = span("Unit", "StartLimitIntervalSec", None)
    if interval is None:
        interval = span("Unit", "StartLimitInterval", None)
    if interval is None:
        interval = span("Service", "StartLimitInterval", 10.0)
    burst = get("Unit", "StartLimitBurst", "") or get("Service", "StartLimitBurst", "") or "5"
    unit.update({
        "description": get("Unit", "Description", "") or name,
        "after": get("Unit", "After", []),
        "type": service_type,
        "exec_start": exec_start,
        "exec_start_pre": [parse_command(v) for v in get("Service", "ExecStartPre", [])],
        "exec_start_post": [parse_command(v) for v in get("Service", "ExecStartPost", [])],
        "environment": environment,
        "environment_files": get("Service", "EnvironmentFile", []),
        "restart": restart,
        "restart_sec": span("Service", "RestartSec", 0.1),
        "timeout_stop": min(span("Service", "TimeoutStopSec", 90.0), 90.0),
        "remain_after_exit": get("Service", "RemainAfterExit", "no") in ("yes", "true", "1", "on"),
        "kill_mode": get("Service", "KillMode", "control-group"),
        "working_directory": get("Service", "WorkingDirectory", ""),
        "user": get("Service", "User", ""),
        "start_limit_interval": interval,
        "start_limit_burst": int(burst) if burst.isdigit() else 5,
        "wanted_by": get("Install", "WantedBy", []),
        "required_by": get("Install", "RequiredBy", []),
        "has_install": bool(get("Install", "WantedBy", []) or get("Install", "RequiredBy", []) or
                            get("Install", "Alias", []) or get("Install", "Also", [])),
    })
    return unit
