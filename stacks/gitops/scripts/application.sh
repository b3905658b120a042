#!/bin/sh
# application.sh check|apply|remove: the application's repository secret, Application and ImageUpdater in the
# argocd namespace, from the manifest islet wrote. remove deletes them; the repository in Gitea stays.
set -eu
kubeconfig="$ISLET_ROOT/etc/kubernetes/admin.conf"
manifest="$ISLET_ROOT/etc/kubernetes/islet/gitops/$APP.yaml"
k() { kubectl --kubeconfig "$kubeconfig" -n argocd "$@"; }
case "$1" in
  check)
    k get secret "islet-repo-$APP" -o name > /dev/null &&
      k get applications.argoproj.io "$APP" -o name > /dev/null &&
      k get imageupdaters.argocd-image-updater.argoproj.io "$APP" -o name > /dev/null
    ;;
  apply)
    k apply -f "$manifest"
    ;;
  remove)
    k delete imageupdaters.argocd-image-updater.argoproj.io "$APP" --ignore-not-found
    k delete applications.argoproj.io "$APP" --ignore-not-found
    k delete secret "islet-repo-$APP" --ignore-not-found
    rm -f "$manifest"
    ;;
esac
