import os

import docker


def main() -> None:
    client = docker.from_env()
    client.images.build(
        path=".",
        tag="app:release",
        buildargs={"NPM_TOKEN": os.environ["NPM_TOKEN"]},
    )


if __name__ == "__main__":
    main()
