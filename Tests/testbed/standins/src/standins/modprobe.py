"""modprobe stand-in: loads simulated modules (kernel.MODULES) into the node's simulated kernel.

    modprobe [-q] [-v] [-n] NAME [PARAM=VALUE...]     load NAME (and what it needs)
    modprobe -a [-q] NAME...                          load each NAME
    modprobe -r [-q] NAME...                          remove NAME
"""

import os
import sys

from . import common, kernel


def _kernel_release():
    return os.uname().release


def body(args):
    quiet = verbose = dry_run = remove = all_names = False
    names = []
    for arg in args:
        if arg in ("-q", "--quiet"):
            quiet = True
        elif arg in ("-v", "--verbose"):
            verbose = True
        elif arg in ("-n", "--dry-run", "--show"):
            dry_run = True
        elif arg in ("-r", "--remove"):
            remove = True
        elif arg in ("-a", "--all"):
            all_names = True
        elif arg in ("-b", "--use-blacklist"):
            pass
        elif arg.startswith("-") and len(arg) > 2 and not arg.startswith("--"):
            # bundled short options, e.g. -qa
            rest = arg[1:]
            if set(rest) - set("qvnrab"):
                raise common.Refusal(f"ERROR: unrecognized option '{arg}'")
            quiet |= "q" in rest
            verbose |= "v" in rest
            dry_run |= "n" in rest
            remove |= "r" in rest
            all_names |= "a" in rest
        elif arg.startswith("-"):
            raise common.Refusal(f"ERROR: unrecognized option '{arg}'")
        else:
            names.append(arg)
    if not names:
        raise common.Refusal("ERROR: missing parameters. See -h.")
    if not (all_names or remove) and len(names) > 1:
        # modprobe NAME A B: A and B are module parameters; none of the simulated modules has any
        for param in names[1:]:
            if "=" not in param:
                raise common.Refusal(f"ERROR: could not insert '{kernel.canonical_module(names[0])}': "
                                     "Unknown symbol in module, or unknown parameter (see dmesg)")
        names = names[:1]
    if remove:
        return _remove(names, quiet, verbose, dry_run)
    code = 0
    for name in names:
        module = kernel.canonical_module(name)
        if module not in kernel.MODULES:
            if not quiet:
                print(f"modprobe: FATAL: Module {name} not found in directory /lib/modules/{_kernel_release()}",
                      file=sys.stderr)
            code = 1
            continue
        if dry_run:
            if verbose:
                print(f"insmod /lib/modules/{_kernel_release()}/kernel/{module}.ko")
            continue
        if module in kernel.loaded_modules():
            continue
        if not kernel.is_root():
            raise common.Refusal(f"ERROR: could not insert '{module}': Operation not permitted")
        for added in kernel.load_module(module):
            if verbose:
                print(f"insmod /lib/modules/{_kernel_release()}/kernel/{added}.ko")
    return code


def _remove(names, quiet, verbose, dry_run):
    for name in names:
        module = kernel.canonical_module(name)
        if module not in kernel.MODULES:
            if quiet:
                return 1
            raise common.Refusal(f"FATAL: Module {name} not found.")
        if module not in kernel.loaded_modules() or dry_run:
            continue
        if not kernel.is_root():
            raise common.Refusal(f"FATAL: Error running remove command for {module}: Operation not permitted")
        try:
            kernel.unload_module(module)
        except ValueError:
            raise common.Refusal(f"FATAL: Module {module} is in use.")
        except KeyError:
            continue
        kernel.forget_module_sysctls(module)
        if verbose:
            print(f"rmmod {module}")
    return 0


def main():
    raise SystemExit(common.run("modprobe", body))


if __name__ == "__main__":
    main()
