"""sysctl stand-in: reads and writes the node's simulated kernel parameters (see kernel.py).

    sysctl [-n] [-e] KEY...          print KEY = VALUE (-n: VALUE only)
    sysctl [-q] -w KEY=VALUE...      set (also without -w when the argument has =)
    sysctl [-q] -p [FILE...]         apply FILE (default /etc/sysctl.conf)
    sysctl [-q] --system             apply the sysctl.d folders, then /etc/sysctl.conf, as procps does
    sysctl -a                        every simulated key

Messages and exit codes are procps-ng's: a missing key is "cannot stat /proc/sys/...", exit 255.
"""

import fnmatch
import glob
import os
import sys

from . import common, kernel

SYSTEM_DIRS = ["/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d", "/lib/sysctl.d"]


class _Options:
    def __init__(self):
        self.names_only = False
        self.values_only = False
        self.ignore_missing = False
        self.quiet = False


def _err(message):
    print(f"sysctl: {message}", file=sys.stderr)


def _show(key, value, options):
    if options.values_only:
        print(value)
    elif options.names_only:
        print(key)
    else:
        print(f"{key} = {value}")


def read_setting(key, options):
    key = kernel.normalize_key(key)
    value = kernel.sysctl_get(key)
    if value is None:
        if not options.ignore_missing:
            _err(f"cannot stat {kernel.proc_path(key)}: No such file or directory")
            return 255
        return 0
    _show(key, value, options)
    return 0


def _all_keys():
    keys = set(kernel.SYSCTL_DEFAULTS)
    for module in kernel.loaded_modules():
        keys.update(kernel.MODULE_SYSCTLS.get(module, {}))
    return sorted(keys)


def _expand(pattern):
    """Keys matching a glob pattern (procps 4 accepts net.ipv4.conf.*.rp_filter)."""
    keys = set(k for k in _all_keys() if fnmatch.fnmatchcase(k, pattern))
    for path in glob.glob(kernel.proc_path(pattern)):
        key = path[len("/proc/sys/"):].replace(".", "\0").replace("/", ".").replace("\0", "/")
        if not key.startswith("net.bridge.") and os.path.isfile(path):
            keys.add(key)
    return sorted(keys)


def write_setting(assignment, options, ignore_failure=False):
    """KEY=VALUE; returns the exit code part (0 or 255)."""
    key, _, value = assignment.partition("=")
    key = kernel.normalize_key(key)
    value = value.strip()
    if not key:
        _err(f'"{assignment}" must be of the form name=value')
        return 255
    if any(c in key for c in "*?["):
        code = 0
        for match in _expand(key):
            code |= write_setting(f"{match}={value}", options, ignore_failure)
        return code
    if kernel.sysctl_default(key) is None:
        if ignore_failure or options.ignore_missing:
            return 0
        _err(f"cannot stat {kernel.proc_path(key)}: No such file or directory")
        return 255
    if not kernel.is_root():
        if ignore_failure:
            return 0
        _err(f'permission denied on key "{key}"')
        return 255
    try:
        stored = kernel.sysctl_set(key, value)
    except ValueError:
        if ignore_failure:
            return 0
        _err(f'setting key "{key}": Invalid argument')
        return 255
    except KeyError:
        _err(f"cannot stat {kernel.proc_path(key)}: No such file or directory")
        return 255
    if not options.quiet:
        _show(key, stored, options)
    return 0


def apply_file(path, options, announce=False):
    """Applies one sysctl.conf-style file; returns 0 or 255."""
    try:
        with open(common.rooted(path)) as f:
            lines = f.read().splitlines()
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        _err(f'cannot open "{path}": No such file or directory')
        return 255
    if announce and not options.quiet:
        print(f"* Applying {path} ...")
    code = 0
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        ignore_failure = line.startswith("-")
        if ignore_failure:
            line = line[1:].lstrip()
        if "=" not in line:
            _err(f"{path}({number}): invalid syntax, continuing...")
            continue
        key, _, value = line.partition("=")
        code |= write_setting(f"{key.strip()}={value.strip()}", options, ignore_failure)
    return code


def system_files():
    """The files `sysctl --system` applies, in order: first folder wins per name, sorted by name."""
    chosen = {}
    for folder in SYSTEM_DIRS:
        try:
            names = os.listdir(common.rooted(folder))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for name in names:
            if name.endswith(".conf") and name not in chosen:
                chosen[name] = os.path.join(folder, name)
    files = [chosen[name] for name in sorted(chosen)]
    if os.path.exists(common.rooted("/etc/sysctl.conf")):
        files.append("/etc/sysctl.conf")
    return files


def apply_system(options):
    code = 0
    for path in system_files():
        code |= apply_file(path, options, announce=True)
    return code


def body(args):
    options = _Options()
    write_mode = False
    load_files = None
    system = False
    show_all = False
    operands = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--system":
            system = True
        elif arg in ("-p", "--load") or arg.startswith("--load="):
            load_files = [] if load_files is None else load_files
            if arg.startswith("--load="):
                load_files.append(arg.split("=", 1)[1])
        elif arg.startswith("-p") and len(arg) > 2:
            load_files = (load_files or []) + [arg[2:]]
        elif arg in ("-a", "-A", "-X", "--all"):
            show_all = True
        elif arg in ("-w", "--write"):
            write_mode = True
        elif arg in ("-n", "--values"):
            options.values_only = True
        elif arg in ("-N", "--names"):
            options.names_only = True
        elif arg in ("-e", "--ignore"):
            options.ignore_missing = True
        elif arg in ("-q", "--quiet"):
            options.quiet = True
        elif arg.startswith("-") and len(arg) > 1 and not arg.startswith("--") and set(arg[1:]) <= set("nNeqw"):
            for flag in arg[1:]:
                options.values_only |= flag == "n"
                options.names_only |= flag == "N"
                options.ignore_missing |= flag == "e"
                options.quiet |= flag == "q"
                write_mode |= flag == "w"
        elif arg.startswith("-"):
            raise common.Refusal(f"invalid option -- '{arg.lstrip('-')}'", code=1)
        else:
            operands.append(arg)
    if system:
        return apply_system(options)
    if load_files is not None:
        code = 0
        for path in (load_files + operands) or ["/etc/sysctl.conf"]:
            code |= apply_file(path, options)
        return code
    if show_all:
        for key in _all_keys():
            _show(key, kernel.sysctl_get(key), options)
        return 0
    if not operands:
        raise common.Refusal("no variables specified\nTry `sysctl --help' for more information.", code=1)
    code = 0
    for operand in operands:
        if write_mode or "=" in operand:
            if "=" not in operand:
                _err(f'"{operand}" must be of the form name=value')
                code = 255
                continue
            code |= write_setting(operand, options)
        else:
            code |= read_setting(operand, options)
    return code


def main():
    raise SystemExit(common.run("sysctl", body))


if __name__ == "__main__":
    main()
