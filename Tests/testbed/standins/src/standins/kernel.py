"""The node's simulated kernel: loaded modules, sysctl values and active swap.

Nodes share the host's kernel, so nothing here touches it: the state lives in the node's private
``$NODE_RUN`` (tmpfs ``/run/islet-sim``, lost at a reboot like the kernel's own state):

    modules             one loaded module per line, in load order
    sysctl.json         {key: value} written since boot (keys not in it have their default)
    swaps.json          [{"name", "type", "size", "used", "prio"}] active swap areas

Only the stand-ins (modprobe, lsmod, sysctl, swapon, swapoff, systemctl's boot) read or write these
files; other layers ask the programs.
"""

import os
import re

from . import common

# module -> (size as lsmod shows it, modules it needs). Names the stacks and kubeadm's preflight use;
# any other name is "not found", as for a module the kernel was not built with.
MODULES = {
    "overlay": (151552, []),
    "bridge": (311296, ["stp", "llc"]),
    "stp": (12288, ["llc"]),
    "llc": (16384, []),
    "br_netfilter": (32768, ["bridge"]),
    "nf_conntrack": (176128, ["nf_defrag_ipv4", "nf_defrag_ipv6"]),
    "nf_defrag_ipv4": (12288, []),
    "nf_defrag_ipv6": (24576, []),
    "nf_nat": (49152, ["nf_conntrack"]),
    "nf_tables": (331776, []),
    "ip_tables": (32768, []),
    "ip6_tables": (32768, []),
    "iptable_filter": (12288, ["ip_tables"]),
    "iptable_nat": (12288, ["ip_tables", "nf_nat"]),
    "iptable_mangle": (12288, ["ip_tables"]),
    "iptable_raw": (12288, ["ip_tables"]),
    "ip6table_filter": (12288, ["ip6_tables"]),
    "ip6table_nat": (12288, ["ip6_tables", "nf_nat"]),
    "ip6table_mangle": (12288, ["ip6_tables"]),
    "x_tables": (65536, []),
    "xt_conntrack": (12288, ["nf_conntrack", "x_tables"]),
    "xt_MASQUERADE": (16384, ["nf_nat", "x_tables"]),
    "xt_mark": (12288, ["x_tables"]),
    "xt_comment": (12288, ["x_tables"]),
    "xt_addrtype": (12288, ["x_tables"]),
    "xt_set": (20480, ["ip_set", "x_tables"]),
    "ip_set": (61440, []),
    "ip_vs": (204800, ["nf_conntrack"]),
    "ip_vs_rr": (12288, ["ip_vs"]),
    "ip_vs_wrr": (12288, ["ip_vs"]),
    "ip_vs_sh": (12288, ["ip_vs"]),
    "nf_conntrack_netlink": (57344, ["nf_conntrack"]),
    "veth": (40960, []),
    "vxlan": (147456, []),
    "ipip": (16384, []),
    "wireguard": (114688, []),
    "dummy": (12288, []),
}

# sysctl keys the stacks care about, with a fresh machine's values (the host's own values would make a
# fresh node look prepared already). Other keys exist when the host's /proc/sys has them.
SYSCTL_DEFAULTS = {
    "net.ipv4.ip_forward": "0",
    "net.ipv4.conf.all.forwarding": "0",
    "net.ipv4.conf.default.forwarding": "0",
    "net.ipv6.conf.all.forwarding": "0",
    "net.ipv6.conf.default.forwarding": "0",
    "net.ipv4.conf.all.rp_filter": "2",
    "net.ipv4.conf.default.rp_filter": "2",
    "vm.swappiness": "60",
    "vm.overcommit_memory": "0",
    "vm.panic_on_oom": "0",
    "kernel.panic": "0",
    "kernel.panic_on_oops": "1",
    "kernel.keys.root_maxkeys": "1000000",
    "kernel.keys.root_maxbytes": "25000000",
    "fs.inotify.max_user_instances": "128",
    "fs.inotify.max_user_watches": "122425",
    "net.core.somaxconn": "4096",
}

# keys that exist only while a module is loaded, with the value the module starts with
MODULE_SYSCTLS = {
    "br_netfilter": {
        "net.bridge.bridge-nf-call-arptables": "1",
        "net.bridge.bridge-nf-call-ip6tables": "1",
        "net.bridge.bridge-nf-call-iptables": "1",
        "net.bridge.bridge-nf-filter-pppoe-tagged": "0",
        "net.bridge.bridge-nf-filter-vlan-tagged": "0",
        "net.bridge.bridge-nf-pass-vlan-input-dev": "0",
    },
    "nf_conntrack": {
        "net.netfilter.nf_conntrack_max": "262144",
        "net.netfilter.nf_conntrack_tcp_timeout_established": "432000",
        "net.netfilter.nf_conntrack_tcp_timeout_close_wait": "60",
    },
}


def _path(name):
    return os.path.join(common.NODE_RUN, name)


def is_root():
    return os.geteuid() == 0


# --- modules ---------------------------------------------------------------------------------------

def loaded_modules():
    try:
        with open(_path("modules")) as f:
            return [line.strip() for line in f if line.strip()]
    except FileNotFoundError:
        return []


def _write_modules(names):
    os.makedirs(common.NODE_RUN, exist_ok=True)
    temporary = _path(f"modules.{os.getpid()}.tmp")
    with open(temporary, "w") as f:
        f.write("".join(n + "\n" for n in names))
    os.replace(temporary, _path("modules"))


def canonical_module(name):
    """modprobe treats - and _ alike."""
    return name.replace("-", "_")


def load_module(name):
    """Loads ``name`` and what it needs; returns the names newly loaded. KeyError for an unknown one."""
    name = canonical_module(name)
    if name not in MODULES:
        raise KeyError(name)
    with _node_lock():
        loaded = loaded_modules()
        added = []

        def visit(module):
            for dependency in MODULES[module][1]:
                visit(dependency)
            if module not in loaded and module not in added:
                added.append(module)

        visit(name)
        if added:
            _write_modules(loaded + added)
        return added


def users_of(name, loaded):
    return [m for m in loaded if name in MODULES.get(m, (0, []))[1]]


def unload_module(name):
    """Removes ``name``; ValueError(users) while another module needs it, KeyError if not loaded."""
    name = canonical_module(name)
    with _node_lock():
        loaded = loaded_modules()
        if name not in loaded:
            raise KeyError(name)
        users = users_of(name, loaded)
        if users:
            raise ValueError(users)
        _write_modules([m for m in loaded if m != name])


class _node_lock:
    """flock on the node's own state (modprobe, sysctl and swapon may run at the same time)."""

    def __enter__(self):
        import fcntl
        os.makedirs(common.NODE_RUN, exist_ok=True)
        self.handle = open(_path(".lock"), "a")
        fcntl.flock(self.handle, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        self.handle.close()


# --- sysctl ----------------------------------------------------------------------------------------

def normalize_key(key):
    """sysctl accepts net/ipv4/ip_forward for net.ipv4.ip_forward."""
    key = key.strip()
    if "/" in key:
        key = key.strip("/").replace(".", "\0").replace("/", ".").replace("\0", "/")
    return key


def proc_path(key):
    return "/proc/sys/" + key.replace("/", "\0").replace(".", "/").replace("\0", ".")


def _module_keys(loaded):
    keys = {}
    for module in loaded:
        keys.update(MODULE_SYSCTLS.get(module, {}))
    return keys


def _module_owning(key):
    return next((m for m, keys in MODULE_SYSCTLS.items() if key in keys), None)


def sysctl_default(key):
    """The value ``key`` has after boot, or None when the kernel (with the loaded modules) lacks it."""
    owner = _module_owning(key)
    if owner is not None:
        return MODULE_SYSCTLS[owner][key] if owner in loaded_modules() else None
    if key in SYSCTL_DEFAULTS:
        return SYSCTL_DEFAULTS[key]
    if key.startswith("net.bridge."):
        return None  # only br_netfilter creates these, whatever the host has loaded
    try:
        with open(proc_path(key)) as f:
            return "\t".join(f.read().split())
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError, OSError):
        return None


def sysctl_values():
    return common.read_json(_path("sysctl.json"), {}) or {}


def sysctl_get(key):
    """The current value, or None when the key does not exist."""
    default = sysctl_default(key)
    if default is None:
        return None
    return sysctl_values().get(key, default)


def sysctl_set(key, value):
    """Sets an existing key; returns the stored value. KeyError: no such key; ValueError: bad value."""
    default = sysctl_default(key)
    if default is None:
        raise KeyError(key)
    value = "\t".join(value.split())
    if re.fullmatch(r"-?\d+", default) and not re.fullmatch(r"-?\d+", value):
        raise ValueError(value)
    with _node_lock():
        values = sysctl_values()
        values[key] = value
        common.write_json_atomically(_path("sysctl.json"), values)
    return value


def forget_module_sysctls(module):
    """A module's keys vanish (and later come back with their defaults) when it is removed."""
    keys = MODULE_SYSCTLS.get(module, {})
    if not keys:
        return
    with _node_lock():
        values = {k: v for k, v in sysctl_values().items() if k not in keys}
        common.write_json_atomically(_path("sysctl.json"), values)


# --- swap ------------------------------------------------------------------------------------------

# A simulated swap area's size: Ubuntu's default /swap.img (2 GiB less the header page).
SWAP_SIZE = 2 * 1024 ** 3 - 4096


def active_swaps():
    return common.read_json(_path("swaps.json"), []) or []


def set_swaps(swaps):
    with _node_lock():
        common.write_json_atomically(_path("swaps.json"), swaps)


def fstab_swaps():
    """(device, options) of each uncommented swap line in /etc/fstab."""
    entries = []
    try:
        with open(common.rooted("/etc/fstab")) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return entries
    for line in lines:
        fields = line.split()
        if len(fields) >= 3 and not fields[0].startswith("#") and fields[2] == "swap":
            entries.append((fields[0], fields[3].split(",") if len(fields) > 3 else []))
    return entries


def activate_swap(device):
    """Adds ``device`` to the active areas (no-op when active already); returns True if it was added."""
    with _node_lock():
        swaps = active_swaps()
        if any(s["name"] == device for s in swaps):
            return False
        prio = -2 - len(swaps)
        kind = "partition" if device.startswith("/dev/") else "file"
        swaps.append({"name": device, "type": kind, "size": SWAP_SIZE, "used": 0, "prio": prio})
        common.write_json_atomically(_path("swaps.json"), swaps)
        return True
