"""Stand-ins for programs the testbed cannot run (systemd, kubeadm, kubelet, kubectl, containerd ...).

Each stand-in is a module with a ``main()``; ``build`` packs them into one executable per program.
They run inside a testbed node, record every call and keep the simulated cluster under the folder
every node shares (``/run/islet-testbed``). They are for tests only: nothing here ships with islet.
"""
