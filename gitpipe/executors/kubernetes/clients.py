"""The Kubernetes API clients, from the kubeconfig or the in-cluster account.

The official client is imported here, lazily: `gitpipe status` never pays for it.
"""

from __future__ import annotations

import os
from typing import Any

from gitpipe.core.errors import BadInputError, MissingExtraError
from gitpipe.core.install import pip_install
from gitpipe.executors.kubernetes.manifest import KubeSettings


def load_clients(settings: KubeSettings) -> tuple[Any, Any]:
    """(BatchV1Api, CoreV1Api) from the kubeconfig (or the in-cluster account)."""
    try:
        from kubernetes import client, config
    except ImportError:
        raise MissingExtraError("the kubernetes executor needs the kubernetes client",
                                hint=pip_install("k8s")) from None
    configuration = client.Configuration()
    path = settings.kubeconfig or os.environ.get("KUBECONFIG")
    try:
        if path is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
            config.load_incluster_config(client_configuration=configuration)
        else:
            config.load_kube_config(config_file=path, context=settings.context,
                                    client_configuration=configuration)
    except Exception as exc:  # the loader raises several unrelated types
        raise BadInputError(f"cannot load the Kubernetes configuration: {exc}",
                            hint="set KUBECONFIG or kubernetes.kubeconfig/context") from None
    api = client.ApiClient(configuration)
    return client.BatchV1Api(api), client.CoreV1Api(api)
