"""Tests of the helm stand-in, the CRD-backed validation of kubectl apply and the Deployment/StatefulSet
simulation, without a testbed: one simulated control-plane node (kubeadm init, its kubelet stand-in started by
the TEST FAKE systemctl of test_kubernetes, which also brings the fakes of swapon, lsmod, sysctl and crictl).
Run: python3 -m unittest discover -s Tests/testbed/standins -p 'test_*.py'
"""

import base64
import io
import json
import os
import tarfile
import unittest

import test_kubernetes as k8s

HERE = os.path.dirname(os.path.abspath(__file__))
CHARTS = os.path.join(HERE, "charts")
ADMIN = ("--kubeconfig", "/etc/kubernetes/admin.conf")

# the single node is a control plane: kubeadm's NoSchedule taint must be tolerated for pods to run on it
VALUES = """global:
  tolerations:
  - key: node-role.kubernetes.io/control-plane
    operator: Exists
    effect: NoSchedule
configs:
  secret:
    argocdServerAdminPassword: "$2a$10$abcdefghijklmnopqrstuv"
    argocdServerAdminPasswordMtime: "2026-01-01T00:00:00Z"
"""

APPLICATION = """apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: demo
  namespace: argocd
spec:
  project: default
  source:
    repoURL: http://git.islet.internal:3000/platform/apps.git
    targetRevision: main
    path: demo
  destination:
    server: https://kubernetes.default.svc
    namespace: demo
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
    syncOptions: [CreateNamespace=true]
"""

IMAGE_UPDATER = """apiVersion: argocd-image-updater.argoproj.io/v1alpha1
kind: ImageUpdater
metadata:
  name: demo
  namespace: argocd
spec:
  writeBackConfig:
    method: git
    gitConfig:
      branch: main
      writeBackTarget: "helmvalues:/demo/values.yaml"
  applicationRefs:
  - namePattern: demo
    images:
    - alias: app
      imageName: registry.islet.internal:5000/team/app:1.0.0
      commonUpdateSettings:
        updateStrategy: semver
      manifestTargets:
        helm:
          name: image.repository
          tag: image.tag
"""

DEPLOYMENT = """apiVersion: v1
kind: Namespace
metadata:
  name: web
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      tolerations:
      - {key: node-role.kubernetes.io/control-plane, operator: Exists, effect: NoSchedule}
      containers:
      - name: web
        image: registry.islet.internal:5000/team/web:1.0.0
"""


def pack(directory, top, extra=None, drop=()):
    """A chart archive as `helm package` makes it: gzip tar, one top folder."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for base, _, names in os.walk(directory):
            for name in sorted(names):
                path = os.path.join(base, name)
                relative = os.path.relpath(path, directory)
                if relative not in drop:
                    tar.add(path, arcname=f"{top}/{relative}")
        for relative, text in (extra or {}).items():
            data = text.encode()
            info = tarfile.TarInfo(f"{top}/{relative}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class Helm(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.bed = k8s.Testbed()
        cls.node = cls.bed.node(1)
        cls.node.write("/etc/kubernetes/kubeadm.yaml", k8s.INIT_CONFIG.format(key=k8s.CERT_KEY, n=1))
        cls.node.ok("kubeadm", "init", "--config", "/etc/kubernetes/kubeadm.yaml", "--upload-certs")
        cls.node.write("/etc/cni/net.d/10-test.conflist", '{"name": "test", "plugins": []}')
        cls.node.ok("kubectl", *ADMIN, "wait", "--for=condition=Ready", "node/node1", "--timeout=15s")
        cls.node.write("/root/values.yaml", VALUES)
        for name, version in (("argo-cd", "10.1.1"), ("argocd-image-updater", "1.2.4")):
            cls.write_bytes(f"/root/{name}-{version}.tgz", pack(os.path.join(CHARTS, name), name))

    @classmethod
    def tearDownClass(cls):
        cls.bed.close()

    @classmethod
    def write_bytes(cls, path, data):
        os.makedirs(os.path.dirname(cls.node.path(path)), exist_ok=True)
        with open(cls.node.path(path), "wb") as f:
            f.write(data)

    def helm(self, *args):
        return self.node.run("helm", *ADMIN, *args)

    def helm_ok(self, *args):
        return self.node.ok("helm", *ADMIN, *args)

    def kubectl(self, *args):
        return self.node.run("kubectl", *ADMIN, *args)

    def refused(self, result, *fragments):
        self.assertNotEqual(result.returncode, 0, result.stdout)
        for fragment in fragments:
            self.assertIn(fragment, result.stderr)

    def test_1_version_and_chart_refusals(self):
        self.assertRegex(self.helm_ok("version", "--short").strip(), r"^v3\.22\.0\+g[0-9a-f]{7}$")
        self.node.write("/root/not-a-chart.tgz", "apiVersion: v2\n")
        self.refused(self.helm("upgrade", "--install", "x", "/root/not-a-chart.tgz", "-n", "x"),
                     "Error: file '/root/not-a-chart.tgz' does not appear to be a gzipped archive")
        whole = pack(os.path.join(CHARTS, "argocd-image-updater"), "argocd-image-updater")
        self.write_bytes("/root/truncated.tgz", whole[:len(whole) // 2])
        self.assertNotEqual(self.helm("upgrade", "--install", "x", "/root/truncated.tgz", "-n", "x").returncode, 0)
        self.write_bytes("/root/no-chart-yaml.tgz", pack(os.path.join(CHARTS, "argocd-image-updater"),
                                                         "argocd-image-updater", drop=("Chart.yaml",)))
        self.refused(self.helm("upgrade", "--install", "x", "/root/no-chart-yaml.tgz", "-n", "x"),
                     "Error: Chart.yaml file is missing")
        self.write_bytes("/root/bad-version.tgz", pack(os.path.join(CHARTS, "argocd-image-updater"), "u",
                                                       drop=("Chart.yaml",),
                                                       extra={"Chart.yaml": "apiVersion: v2\nname: u\nversion: one\n"}))
        self.refused(self.helm("upgrade", "--install", "x", "/root/bad-version.tgz", "-n", "x"),
                     'validation: chart.metadata.version "one" is invalid')
        self.node.write("/root/broken-values.yaml", "global: [\n")
        self.refused(self.helm("upgrade", "--install", "x", "/root/argo-cd-10.1.1.tgz", "-n", "x",
                               "-f", "/root/broken-values.yaml"), "failed to parse /root/broken-values.yaml")
        self.refused(self.helm("upgrade", "--install", "x", "/root/argo-cd-10.1.1.tgz", "-n", "missing"),
                     'create: failed to create: namespaces "missing" not found')
        templated = pack(os.path.join(CHARTS, "argocd-image-updater"), "t", drop=("islet-standin/objects.yaml",),
                         extra={"templates/cm.yaml": "kind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n"})
        self.write_bytes("/root/templated.tgz", templated)
        self.refused(self.helm("upgrade", "--install", "t", "/root/templated.tgz", "-n", "default"),
                     "is a Go template, which the stand-in cannot render")

    def test_2_values_schema_refuses_a_typo(self):
        self.node.write("/root/typo.yaml", "globl:\n  image:\n    repository: x\n")
        self.refused(self.helm("upgrade", "--install", "argocd", "/root/argo-cd-10.1.1.tgz", "-n", "argocd",
                               "--create-namespace", "-f", "/root/typo.yaml"),
                     "values don't meet the specifications of the schema(s) in the following chart(s):\nargo-cd:",
                     "- at '': additional properties 'globl' not allowed")
        self.refused(self.helm("upgrade", "--install", "argocd", "/root/argo-cd-10.1.1.tgz", "-n", "argocd",
                               "--create-namespace", "--set", "global.image.repositry=x"),
                     "additional properties 'repositry' not allowed")

    def test_3_custom_resources_need_their_crd(self):
        self.node.write("/root/updater.yaml", IMAGE_UPDATER)
        result = self.kubectl("apply", "-f", "/root/updater.yaml")
        self.refused(result, 'no matches for kind "ImageUpdater" in version "argocd-image-updater.argoproj.io/v1alpha1"')

    def test_4_install_argo_cd_waits_and_reports(self):
        output = self.helm_ok("upgrade", "--install", "argocd", "/root/argo-cd-10.1.1.tgz", "-n", "argocd",
                              "--create-namespace", "-f", "/root/values.yaml", "--wait", "--timeout", "60s")
        self.assertIn('Release "argocd" does not exist. Installing it now.', output)
        self.assertIn("STATUS: deployed", output)
        status = json.loads(self.helm_ok("status", "argocd", "-n", "argocd", "-o", "json"))
        self.assertEqual((status["name"], status["namespace"], status["version"]), ("argocd", "argocd", 1))
        self.assertEqual(status["info"]["status"], "deployed")
        self.assertEqual(status["chart"]["metadata"]["name"], "argo-cd")
        self.assertEqual(status["chart"]["metadata"]["version"], "10.1.1")
        self.assertEqual(status["chart"]["metadata"]["appVersion"], "v3.4.4")
        self.assertEqual(status["config"]["configs"]["secret"]["argocdServerAdminPasswordMtime"],
                         "2026-01-01T00:00:00Z")
        # the release record is helm's Secret
        secret = json.loads(self.kubectl("get", "secret", "sh.helm.release.v1.argocd.v1", "-n", "argocd",
                                         "-o", "json").stdout)
        self.assertEqual(secret["type"], "helm.sh/release.v1")
        self.assertEqual(secret["metadata"]["labels"]["status"], "deployed")
        password = self.kubectl("-n", "argocd", "get", "secret", "argocd-secret", "-o",
                                r"jsonpath={.data.admin\.password}").stdout
        self.assertEqual(base64.b64decode(password).decode(), "$2a$10$abcdefghijklmnopqrstuv")
        self.assertIn("successfully rolled out", self.kubectl("-n", "argocd", "rollout", "status",
                                                              "deploy/argocd-server", "--timeout=20s").stdout)
        self.assertIn("statefulset rolling update complete 1 pods", self.kubectl(
            "-n", "argocd", "rollout", "status", "sts/argocd-application-controller", "--timeout=20s").stdout)
        pods = json.loads(self.kubectl("-n", "argocd", "get", "pods", "-o", "json").stdout)["items"]
        images = {p["spec"]["containers"][0]["image"] for p in pods if p["status"]["phase"] == "Running"}
        self.assertEqual(images, {"quay.io/argoproj/argocd:v3.4.4", "ghcr.io/dexidp/dex:v2.45.1",
                                  "ecr-public.aws.com/docker/library/redis:8.2.3-alpine"})
        crd = json.loads(self.kubectl("get", "crd", "applications.argoproj.io", "-o", "json").stdout)
        self.assertEqual(crd["metadata"]["annotations"]["helm.sh/resource-policy"], "keep")
        # an upgrade makes revision 2 and the first superseded; given values replace the last ones (helm
        # reuses them only when none are given), so the values file comes again
        output = self.helm_ok("upgrade", "--install", "argocd", "/root/argo-cd-10.1.1.tgz", "-n", "argocd",
                              "-f", "/root/values.yaml", "--set", "server.replicas=2", "--wait", "--timeout", "60s")
        self.assertIn('Release "argocd" has been upgraded. Happy Helming!', output)
        listed = json.loads(self.helm_ok("list", "-n", "argocd", "-o", "json"))
        self.assertEqual([(r["name"], r["revision"], r["status"], r["chart"], r["app_version"]) for r in listed],
                         [("argocd", "2", "deployed", "argo-cd-10.1.1", "v3.4.4")])
        values = json.loads(self.helm_ok("get", "values", "argocd", "-n", "argocd", "-o", "json"))
        self.assertEqual(values["server"], {"replicas": 2})
        self.assertEqual(len([p for p in json.loads(self.kubectl("-n", "argocd", "get", "pods", "-l",
                                                                 "app.kubernetes.io/name=argocd-server", "-o",
                                                                 "json").stdout)["items"]
                              if p["status"]["phase"] == "Running"]), 2)
        first = json.loads(self.kubectl("get", "secret", "sh.helm.release.v1.argocd.v1", "-n", "argocd", "-o",
                                        "json").stdout)
        self.assertEqual(first["metadata"]["labels"]["status"], "superseded")

    def test_5_applications_are_checked_against_the_crd(self):
        self.node.write("/root/app.yaml", APPLICATION)
        self.assertIn("application.argoproj.io/demo created",
                      self.kubectl("apply", "--server-side", "--force-conflicts", "-f", "/root/app.yaml").stdout
                      .replace("serverside-applied", "created"))
        got = json.loads(self.kubectl("-n", "argocd", "get", "applications.argoproj.io", "demo", "-o", "json").stdout)
        self.assertEqual(got["spec"]["source"]["targetRevision"], "main")
        self.node.write("/root/bad-app.yaml", APPLICATION.replace("prune: true", "prune: yes-please"))
        self.refused(self.kubectl("apply", "-f", "/root/bad-app.yaml"),
                     'The Application "demo" is invalid: spec.syncPolicy.automated.prune: Invalid value: "string": '
                     'spec.syncPolicy.automated.prune in body must be of type boolean: "string"')
        self.node.write("/root/unknown-app.yaml", APPLICATION.replace("  project: default\n",
                                                                      "  project: default\n  projekt: x\n"))
        self.refused(self.kubectl("apply", "-f", "/root/unknown-app.yaml"),
                     'strict decoding error: unknown field "spec.projekt"')
        self.node.write("/root/no-destination.yaml", APPLICATION.split("  destination:")[0])
        self.refused(self.kubectl("apply", "-f", "/root/no-destination.yaml"), "spec.destination: Required value")

    def test_6_image_updater_chart_and_resources(self):
        self.helm_ok("upgrade", "--install", "argocd-image-updater", "/root/argocd-image-updater-1.2.4.tgz", "-n",
                     "argocd", "--set", "config.git\\.user=islet", "--set", "config.git\\.email=islet@islet.internal",
                     "--set", "tolerations[0].operator=Exists",
                     "--set", "volumes[0].name=extra-ca", "--set", "volumes[0].configMap.name=extra-ca",
                     "--set", "volumes[0].configMap.optional=true",
                     "--set", "volumeMounts[0].name=extra-ca", "--set", "volumeMounts[0].mountPath=/etc/ssl/certs/x.crt",
                     "--set", "volumeMounts[0].subPath=ca.crt", "--wait", "--timeout", "60s")
        # volumes and volumeMounts from the values are appended to the chart's own
        deployment = json.loads(self.kubectl("-n", "argocd", "get", "deployment",
                                             "argocd-image-updater-controller", "-o", "json").stdout)
        pod = deployment["spec"]["template"]["spec"]
        self.assertEqual([v["name"] for v in pod["volumes"]], ["image-updater-conf", "ssh-config", "extra-ca"])
        self.assertEqual(pod["containers"][0]["volumeMounts"][-1],
                         {"name": "extra-ca", "mountPath": "/etc/ssl/certs/x.crt", "subPath": "ca.crt"})
        config = json.loads(self.kubectl("-n", "argocd", "get", "configmap", "argocd-image-updater-config", "-o",
                                         "json").stdout)
        self.assertEqual(config["data"]["git.user"], "islet")
        self.assertEqual(config["data"]["git.email"], "islet@islet.internal")
        self.node.write("/root/updater.yaml", IMAGE_UPDATER)
        self.assertIn("imageupdater.argocd-image-updater.argoproj.io/demo created",
                      self.kubectl("apply", "-f", "/root/updater.yaml").stdout)
        got = json.loads(self.kubectl("-n", "argocd", "get", "imageupdaters.argocd-image-updater.argoproj.io", "demo",
                                      "-o", "json").stdout)
        self.assertEqual(got["spec"]["applicationRefs"][0]["namePattern"], "demo")
        self.node.write("/root/no-refs.yaml", IMAGE_UPDATER.split("  applicationRefs:")[0])
        self.refused(self.kubectl("apply", "-f", "/root/no-refs.yaml"),
                     'The ImageUpdater "demo" is invalid: spec.applicationRefs: Required value')
        # a CEL rule of the CRD: exactly one of helm, kustomize or plugin in manifestTargets
        self.node.write("/root/two-targets.yaml", IMAGE_UPDATER.replace(
            "          tag: image.tag\n", "          tag: image.tag\n        kustomize:\n          name: app\n"))
        self.refused(self.kubectl("apply", "-f", "/root/two-targets.yaml"),
                     "Exactly one of helm, kustomize, or plugin must be specified")

    def test_7_ownership_pending_and_uninstall(self):
        plain = pack(os.path.join(CHARTS, "argocd-image-updater"), "plain",
                     drop=("islet-standin/objects.yaml", "values.schema.json", "values.yaml"),
                     extra={"Chart.yaml": "apiVersion: v2\nname: plain\nversion: 0.1.0\n",
                            "templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\n"
                                                 "data:\n  a: b\n"})
        self.write_bytes("/root/plain.tgz", plain)
        self.node.write("/root/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\n"
                                         "  namespace: default\ndata:\n  a: c\n")
        self.kubectl("apply", "-f", "/root/cm.yaml")
        self.refused(self.helm("upgrade", "--install", "plain", "/root/plain.tgz", "-n", "default"),
                     'ConfigMap "plain" in namespace "default" exists and cannot be imported into the current release',
                     'missing key "app.kubernetes.io/managed-by": must be set to "Helm"')
        self.kubectl("delete", "configmap", "plain", "-n", "default")
        self.helm_ok("upgrade", "--install", "plain", "/root/plain.tgz", "-n", "default")
        self.assertEqual(self.kubectl("get", "configmap", "plain", "-o", "jsonpath={.data.a}").stdout, "b")
        self.assertIn('release "plain" uninstalled', self.helm_ok("uninstall", "plain", "-n", "default"))
        self.refused(self.kubectl("get", "configmap", "plain"), 'configmaps "plain" not found')
        self.refused(self.helm("status", "plain", "-n", "default"), "Error: release: not found")
        # a pod whose image cannot be pulled: --wait times out and the release is failed
        self.bed.missing_images("quay.io/argoprojlabs/argocd-image-updater:v9.9.9")
        self.refused(self.helm("upgrade", "--install", "stuck", "/root/argocd-image-updater-1.2.4.tgz", "-n",
                               "stuck", "--create-namespace", "--set", "image.tag=v9.9.9", "--set",
                               "crds.install=false", "--set", "tolerations[0].operator=Exists", "--wait",
                               "--timeout", "1s"), "Error: context deadline exceeded")
        status = json.loads(self.helm_ok("status", "stuck", "-n", "stuck", "-o", "json"))
        self.assertEqual(status["info"]["status"], "failed")
        self.assertIn("context deadline exceeded", status["info"]["description"])

    def test_8_deployment_rollout_from_kubectl(self):
        self.node.write("/root/web.yaml", DEPLOYMENT)
        self.assertIn("deployment.apps/web created", self.kubectl("apply", "-f", "/root/web.yaml").stdout)
        result = self.kubectl("-n", "web", "rollout", "status", "deploy/web", "--timeout=20s")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn('deployment "web" successfully rolled out', result.stdout)
        deployment = json.loads(self.kubectl("-n", "web", "get", "deploy", "web", "-o", "json").stdout)
        self.assertEqual(deployment["status"]["readyReplicas"], 2)
        pods = json.loads(self.kubectl("-n", "web", "get", "pods", "-o", "json").stdout)["items"]
        self.assertEqual(sorted((p["spec"]["nodeName"], p["status"]["phase"]) for p in pods),
                         [("node1", "Running"), ("node1", "Running")])
        # without the toleration nothing can run on the control-plane node: the rollout does not finish
        self.node.write("/root/web2.yaml", DEPLOYMENT.replace("      tolerations:\n      - {key: node-role.kubernetes"
                                                              ".io/control-plane, operator: Exists, effect: NoSchedule}\n",
                                                              "").replace("name: web\n  namespace", "name: web2\n  namespace"))
        self.kubectl("apply", "-f", "/root/web2.yaml")
        self.refused(self.kubectl("-n", "web", "rollout", "status", "deploy/web2", "--timeout=1s"),
                     "timed out waiting for the condition")
        pods = json.loads(self.kubectl("-n", "web", "get", "pods", "-l", "app=web", "-o", "json").stdout)["items"]
        self.assertTrue(any("untolerated taint" in c.get("message", "") for p in pods
                            for c in p["status"].get("conditions", [])))


if __name__ == "__main__":
    unittest.main()
