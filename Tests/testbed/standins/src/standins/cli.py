"""Command-line parsing shared by the Kubernetes stand-ins: cobra/pflag's rules, strictly."""


class Failure(Exception):
    """What the real program prints on stderr before exiting with ``code``."""

    def __init__(self, message, code=1):
        super().__init__(message)
        self.message = message
        self.code = code


class Flags:
    """Parsed flags: ``values`` maps a flag's long name to its value (a list for repeatable flags)."""

    def __init__(self):
        self.values = {}
        self.given = []
        self.positional = []
        self.after_dash = None

    def get(self, name, default=None):
        return self.values.get(name, default)

    def __contains__(self, name):
        return name in self.values


def parse(args, spec, shorthands=None, unknown_hint="", interspersed=True):
    """pflag parsing. ``spec`` maps a long flag name to "bool", "value", "list" (repeatable, or a
    comma-separated value: pflag's StringSlice) or "array" (repeatable, kept whole: StringArray). ``--`` ends the flags; what follows is kept in ``after_dash``."""
    shorthands = shorthands or {}
    flags = Flags()
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if arg == "--":
            flags.after_dash = args[index:]
            break
        if arg.startswith("--") and len(arg) > 2:
            name, has_value, value = arg[2:].partition("=")
        elif arg.startswith("-") and len(arg) > 1:
            letter, value = arg[1], arg[2:]
            has_value = bool(value)
            if value.startswith("="):
                value = value[1:]
            if letter not in shorthands:
                raise Failure(f"unknown shorthand flag: '{letter}' in {arg}{unknown_hint}")
            name = shorthands[letter]
        else:
            flags.positional.append(arg)
            if not interspersed:
                flags.positional.extend(args[index:])
                break
            continue
        kind = spec.get(name)
        if kind is None:
            raise Failure(f"unknown flag: --{name}{unknown_hint}")
        if kind == "bool":
            if has_value and value.lower() not in ("true", "false", "1", "0", "t", "f"):
                raise Failure(f'invalid argument "{value}" for "--{name}" flag: strconv.ParseBool: '
                              f'parsing "{value}": invalid syntax')
            flags.values[name] = (value.lower() in ("true", "1", "t")) if has_value else True
        else:
            if not has_value:
                if index >= len(args):
                    raise Failure(f"flag needs an argument: --{name}{unknown_hint}")
                value = args[index]
                index += 1
            if kind == "list":
                flags.values.setdefault(name, []).extend(v for v in value.split(",") if v)
            elif kind == "array":
                flags.values.setdefault(name, []).append(value)
            else:
                flags.values[name] = value
        flags.given.append(name)
    return flags
