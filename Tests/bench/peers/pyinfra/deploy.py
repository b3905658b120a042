"""The peer benchmark's workload (Tests/bench/peers): the same 21 steps as
../islet/stacks/prep/stack.yaml and ../ansible/playbook.yml. The run script stages this folder with
files/logrotate and files/demoapp-1.4.2.tar, and writes inventory.py beside it.
"""

from pyinfra import host
from pyinfra.facts.files import File
from pyinfra.facts.server import Command, Hostname, Which
from pyinfra.operations import files, server

VERSION = host.data.app_version
RELEASES = "/srv/demoapp/releases"
RELEASE = f"{RELEASES}/demoapp-{VERSION}"

# read-only checks: facts, read before any operation runs
if host.get_fact(Hostname) != host.name:
    raise RuntimeError(f"check-hostname: {host.name} calls itself {host.get_fact(Hostname)}")
if int(host.get_fact(Command, "df -Pk /srv | awk 'NR == 2 { print $4 }'")) < 102400:
    raise RuntimeError("check-disk: less than 100 MiB free under /srv")
if not (host.get_fact(Which, command="tar") and host.get_fact(Which, command="sha256sum")):
    raise RuntimeError("check-tools: tar or sha256sum missing")

# the service account
server.group(name="group", group="demoapp", system=True)
server.user(name="user", user="demoapp", group="demoapp", system=True, home="/var/lib/demoapp",
            shell="/usr/sbin/nologin", create_home=False, ensure_home=False)

# directories
files.directory(name="dir-etc", path="/etc/demoapp", mode="755", user="root", group="root")
files.directory(name="dir-srv", path="/srv/demoapp", mode="755", user="demoapp", group="demoapp")
files.directory(name="dir-releases", path=RELEASES, mode="755", user="demoapp", group="demoapp")
files.directory(name="dir-data", path="/var/lib/demoapp", mode="750", user="demoapp", group="demoapp")
files.directory(name="dir-log", path="/var/log/demoapp", mode="750", user="demoapp", group="demoapp")

# files rendered from templates with per-node values, and a static one
files.template(name="config", src="templates/app.conf.j2", dest="/etc/demoapp/app.conf",
               mode="640", user="root", group="demoapp")
files.template(name="node-env", src="templates/node.env.j2", dest="/etc/demoapp/node.env",
               mode="644", user="root", group="root")
files.template(name="instance", src="templates/instance.json.j2", dest="/var/lib/demoapp/instance.json",
               mode="600", user="demoapp", group="demoapp")
files.put(name="logrotate", src="files/logrotate", dest="/etc/logrotate.d/demoapp",
          mode="644", user="root", group="root")

# lines in config files
files.line(name="environment", path="/etc/environment", line="^DEMOAPP_HOME=/srv/demoapp/current$")
files.line(name="limits", path="/etc/security/limits.conf", line="^demoapp - nofile 65536$")
files.line(name="useradd-shell", path="/etc/default/useradd", line="^SHELL=.*", replace="SHELL=/bin/bash")

# the release: tarball uploaded and unpacked, a mode, a symlink
files.put(name="tarball", src=f"files/demoapp-{VERSION}.tar", dest=f"{RELEASES}/demoapp-{VERSION}.tar",
          mode="644", user="root", group="root")
if not host.get_fact(File, path=f"{RELEASE}/VERSION"):
    server.shell(name="unpack", commands=[
        f"tar -xf {RELEASES}/demoapp-{VERSION}.tar -C {RELEASES}",
        f"chown -R demoapp:demoapp {RELEASE}",
    ])
files.file(name="bin-mode", path=f"{RELEASE}/bin/demoapp", mode="755")
files.link(name="current", path="/srv/demoapp/current", target=RELEASE)
