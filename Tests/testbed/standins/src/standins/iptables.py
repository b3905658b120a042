"""iptables / ip6tables stand-in (dispatch on argv[0]): simulated rule sets in the node's /run/islet-sim.

Nodes share the host's network namespace, so a real `iptables -F` in a node would flush the host's
rules: this program never touches the kernel. Supported, with the real messages and exit codes:

    [-t TABLE] -F|-X|-Z [CHAIN]      flush / delete user chains / zero counters
    [-t TABLE] -L [CHAIN] [-n] [-v] [-x] [--line-numbers]
    [-t TABLE] -S [CHAIN]
    [-t TABLE] -N CHAIN | -P CHAIN TARGET | -A|-C|-D CHAIN RULE... | -I CHAIN [N] RULE... | -D CHAIN N
    -w [SECONDS], -W USEC (accepted, nothing to wait for), --version
"""

import os
import sys

from . import common, kernel

VERSION = "v1.8.9 (nf_tables)"
BUILTIN = {
    "filter": ["INPUT", "FORWARD", "OUTPUT"],
    "nat": ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
    "mangle": ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
    "raw": ["PREROUTING", "OUTPUT"],
    "security": ["INPUT", "FORWARD", "OUTPUT"],
}
STANDARD_TARGETS = {"ACCEPT", "DROP", "RETURN", "REJECT", "MASQUERADE", "SNAT", "DNAT", "MARK", "LOG",
                    "CONNMARK", "NOTRACK", "CT", "QUEUE", "NFQUEUE", "REDIRECT", "TPROXY", "TCPMSS", "NFLOG"}
COMMANDS = {"-F": "flush", "--flush": "flush", "-X": "delete-chain", "--delete-chain": "delete-chain",
            "-Z": "zero", "--zero": "zero", "-L": "list", "--list": "list", "-S": "list-rules",
            "--list-rules": "list-rules", "-N": "new-chain", "--new-chain": "new-chain", "-P": "policy",
            "--policy": "policy", "-A": "append", "--append": "append", "-C": "check", "--check": "check",
            "-D": "delete", "--delete": "delete", "-I": "insert", "--insert": "insert"}


class _Error(Exception):
    def __init__(self, message, code):
        super().__init__(message)
        self.code = code


def _fresh():
    return {table: {chain: {"policy": "ACCEPT", "rules": []} for chain in chains}
            for table, chains in BUILTIN.items()}


def _state_path(program):
    return os.path.join(common.NODE_RUN, "iptables", "v6.json" if program == "ip6tables" else "v4.json")


def _parse(program, args):
    table, command, chain, rest, options = "filter", None, None, [], set()
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg in ("-t", "--table") or (arg.startswith("-t") and len(arg) > 2 and not arg.startswith("--")):
            if arg in ("-t", "--table"):
                if i >= len(args):
                    raise _Error(f"{program} {VERSION}: option \"{arg}\" requires an argument", 2)
                table = args[i]
                i += 1
            else:
                table = arg[2:]
        elif arg in COMMANDS:
            if command is not None:
                raise _Error(f"{program} {VERSION}: Can't use -{arg.lstrip('-')[0].upper()} with "
                             f"-{command[0].upper()}\n", 2)
            command = COMMANDS[arg]
            if i < len(args) and not args[i].startswith("-"):
                chain = args[i]
                i += 1
        elif arg in ("-n", "--numeric", "-v", "--verbose", "-x", "--exact", "--line-numbers"):
            options.add(arg)
        elif arg in ("-w", "--wait"):
            if i < len(args) and args[i].isdigit():
                i += 1
        elif arg in ("-W", "--wait-interval"):
            i += 1
        elif arg in ("-V", "--version"):
            command = "version"
        elif command in ("append", "check", "delete", "insert", "policy"):
            rest.append(arg)
        else:
            raise _Error(f"{program} {VERSION}: unknown option \"{arg}\"\n"
                         f"Try `{program} -h' or '{program} --help' for more information.", 2)
    if command is None:
        raise _Error(f"{program} {VERSION}: no command specified\n"
                     f"Try `{program} -h' or '{program} --help' for more information.", 2)
    return table, command, chain, rest, options


def _chains(state, table, program):
    if table not in state:
        raise _Error(f"{program} {VERSION}: can't initialize {program} table `{table}': Table does not exist "
                     f"(do you need to insmod?)\nPerhaps {program} or your kernel needs to be upgraded.", 3)
    return state[table]


def _chain(chains, name, program):
    if name not in chains:
        raise _Error(f"{program}: No chain/target/match by that name.", 1)
    return chains[name]


def _target_of(rule):
    words = rule.split()
    for flag in ("-j", "--jump", "-g", "--goto"):
        if flag in words and words.index(flag) + 1 < len(words):
            return words[words.index(flag) + 1]
    return ""


def _references(chains, name):
    return sum(1 for c in chains.values() for r in c["rules"] if _target_of(r) == name)


def _ordered(table, chains):
    """Built-in chains in the kernel's order, then user chains by name (the JSON keeps no order)."""
    return [c for c in BUILTIN[table] if c in chains] + sorted(c for c in chains if c not in BUILTIN[table])


def _list(program, table, chains, only, options):
    names = [only] if only else _ordered(table, chains)
    out = []
    for name in names:
        chain = _chain(chains, name, program)
        if name in BUILTIN[table]:
            out.append(f"Chain {name} (policy {chain['policy']})")
        else:
            out.append(f"Chain {name} ({_references(chains, name)} references)")
        numbers = "--line-numbers" in options
        out.append(("num  " if numbers else "") + "target     prot opt source               destination         ")
        for n, rule in enumerate(chain["rules"], 1):
            words = rule.split()

            def take(*flags, default):
                for flag in flags:
                    if flag in words:
                        return words[words.index(flag) + 1]
                return default

            anywhere = "::/0" if program == "ip6tables" else "0.0.0.0/0"
            line = (f"{_target_of(rule):<10} {take('-p', '--protocol', default='all'):<4} --  "
                    f"{take('-s', '--source', default=anywhere):<20} {take('-d', '--destination', default=anywhere):<20}")
            out.append((f"{n:<5}" if numbers else "") + line.rstrip())
        out.append("")
    print("\n".join(out[:-1]) if out else "")


def _list_rules(chains, table, only, program):
    names = [only] if only else _ordered(table, chains)
    for name in names:
        chain = _chain(chains, name, program)
        print(f"-P {name} {chain['policy']}" if name in BUILTIN[table] else f"-N {name}")
    for name in names:
        for rule in chains[name]["rules"]:
            print(f"-A {name} {rule}")


def execute(program, args):
    table, command, chain, rest, options = _parse(program, args)
    if command == "version":
        print(f"{program} {VERSION}")
        return 0
    if not kernel.is_root():
        raise _Error(f"{program} {VERSION}: Could not fetch rule set generation id: Permission denied "
                     "(you must be root)", 4)
    path = _state_path(program)
    with _file_lock(path + ".lock"):
        state = common.read_json(path) or _fresh()
        chains = _chains(state, table, program)
        changed = True
        if command == "flush":
            for name in ([chain] if chain else list(chains)):
                _chain(chains, name, program)["rules"] = []
        elif command == "delete-chain":
            if chain:
                _chain(chains, chain, program)
                if chain in BUILTIN[table] or chains[chain]["rules"] or _references(chains, chain):
                    raise _Error(f"{program} {VERSION}: CHAIN_USER_DEL failed (Device or resource busy): "
                                 f"chain {chain}", 1)
                del chains[chain]
            else:
                for name in [n for n in chains if n not in BUILTIN[table]]:
                    if _references(chains, name):
                        raise _Error(f"{program} {VERSION}: CHAIN_USER_DEL failed (Device or resource busy): "
                                     f"chain {name}", 1)
                    del chains[name]
        elif command == "zero":
            if chain:
                _chain(chains, chain, program)
            changed = False
        elif command == "list":
            _list(program, table, chains, chain, options)
            changed = False
        elif command == "list-rules":
            _list_rules(chains, table, chain, program)
            changed = False
        elif command == "new-chain":
            if not chain:
                raise _Error(f"{program} {VERSION}: -N requires a chain name", 2)
            if chain in chains:
                raise _Error(f"{program}: Chain already exists.", 1)
            chains[chain] = {"policy": None, "rules": []}
        elif command == "policy":
            if chain not in BUILTIN[table]:
                raise _Error(f"{program}: Bad built-in chain name.", 1)
            if len(rest) != 1 or rest[0] not in ("ACCEPT", "DROP"):
                raise _Error(f"{program}: Bad policy name. Run `dmesg' for more information.", 1)
            chains[chain]["policy"] = rest[0]
        else:  # append, check, delete, insert
            target = _chain(chains, chain, program) if chain else None
            if target is None:
                raise _Error(f"{program} {VERSION}: option \"-{command[0].upper()}\" requires an argument", 2)
            position = None
            if command == "insert" and rest and rest[0].isdigit():
                position = int(rest.pop(0))
            if command == "delete" and len(rest) == 1 and rest[0].isdigit():
                number = int(rest[0])
                if not 1 <= number <= len(target["rules"]):
                    raise _Error(f"{program}: Index of deletion too big.", 1)
                del target["rules"][number - 1]
            else:
                rule = " ".join(rest)
                jump = _target_of(rule)
                if jump and jump not in STANDARD_TARGETS and jump not in chains:
                    raise _Error(f"{program} {VERSION}: Couldn't load target `{jump}':No such file or directory\n\n"
                                 f"Try `{program} -h' or '{program} --help' for more information.", 2)
                if command == "append":
                    target["rules"].append(rule)
                elif command == "insert":
                    target["rules"].insert((position or 1) - 1, rule)
                elif rule not in target["rules"]:
                    raise _Error(f"{program}: Bad rule (does a matching rule exist in that chain?).", 1)
                elif command == "delete":
                    target["rules"].remove(rule)
                else:
                    changed = False
        if changed:
            common.write_json_atomically(path, state)
    return 0


class _file_lock:
    def __init__(self, path):
        self.path = path

    def __enter__(self):
        import fcntl
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        self.handle = open(self.path, "a")
        fcntl.flock(self.handle, fcntl.LOCK_EX)

    def __exit__(self, *exc):
        self.handle.close()


def main():
    program = "ip6tables" if os.path.basename(sys.argv[0]).startswith("ip6tables") else "iptables"

    def body(args):
        try:
            return execute(program, args)
        except _Error as error:
            print(error, file=sys.stderr)
            return error.code

    raise SystemExit(common.run(program, body))


if __name__ == "__main__":
    main()
