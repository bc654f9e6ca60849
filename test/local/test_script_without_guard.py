"""A user's script that starts a LocalServer at top level, with no ``if __name__ == "__main__":`` guard, works:
the workers must not re-run the script (as multiprocessing's "spawn" would)."""

import subprocess
import sys
import textwrap


def test_unguarded_script_serves_requests(tmp_path):
    script = tmp_path / "script.py"
    script.write_text(
        textwrap.dedent(
            """
            import ubiops
            from ubiops.local import LocalServer, default_config

            print("script body ran")
            with LocalServer(config=default_config()) as server:
                with ubiops.ApiClient(server.configuration()) as api_client:
                    core_api = ubiops.CoreApi(api_client)
                    print(core_api.deployment_requests_create("local", "echo", "hello").result)
                    sum_input = {"x": 1.0, "y": 2.0, "op": "add"}
                    print(core_api.deployment_requests_create("local", "calculator", sum_input).result)
            """
        )
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["script body ran", "hello", "{'result': 3.0}"]
