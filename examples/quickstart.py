"""Quickstart: one direct request, one batch request waited for, all configured from the environment.

Against the local server (bundled `calculator` deployment, project `local`)::

    ubiops-local serve            # prints the two export lines below with its own port and token
    export UBIOPS_API_HOST=http://127.0.0.1:8900/v2.1
    export UBIOPS_API_TOKEN="Token <token>"
    python examples/quickstart.py

Against UbiOps: set UBIOPS_API_TOKEN, and UBIOPS_PROJECT / UBIOPS_DEPLOYMENT to a deployment with the fields
x, y (double) and op (string).
"""

import os

import ubiops
from ubiops.utils import wait_for_request

PROJECT = os.environ.get("UBIOPS_PROJECT", "local")
DEPLOYMENT = os.environ.get("UBIOPS_DEPLOYMENT", "calculator")


def main() -> None:
    with ubiops.ApiClient() as api_client:  # host and token from UBIOPS_API_HOST / UBIOPS_API_TOKEN
        core_api = ubiops.CoreApi(api_client)

        # A direct request answers when the deployment has finished.
        response = core_api.deployment_requests_create(PROJECT, DEPLOYMENT, {"x": 6, "y": 7, "op": "mul"})
        print(f"direct: {response.status}, result {response.result}")

        # A batch request answers at once; wait_for_request polls it with a growing interval.
        created = core_api.batch_deployment_requests_create(PROJECT, DEPLOYMENT, [{"x": 1, "y": 0, "op": "div"}])
        record = wait_for_request(core_api, PROJECT, DEPLOYMENT, created[0].id, max_wait=60)
        print(f"batch: {record.status}, error: {record.error_message}")

        try:
            core_api.deployment_requests_get(PROJECT, DEPLOYMENT, "no-such-request")
        except ubiops.NotFoundException as err:
            print(f"errors are exceptions: {err}")


if __name__ == "__main__":
    main()
