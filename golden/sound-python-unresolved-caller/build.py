import os
import subprocess

SECRETS = ["NPM_TOKEN"]
extra = [arg for name in SECRETS for arg in ("--build-arg", name)]
subprocess.run(["docker", "build", *extra, "-t", "app", "."], check=True, env=os.environ)
