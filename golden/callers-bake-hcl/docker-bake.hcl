# docker buildx bake
variable "GOPRIVATE_TOKEN" {}

variable "VERSION" {
  default = "dev"
}

group "default" {
  targets = ["app"]
}

target "app" {
  context    = "."
  dockerfile = "Dockerfile"
  args = {
    GOPRIVATE_TOKEN = GOPRIVATE_TOKEN // from the environment
    VERSION         = VERSION
  }
  tags = ["registry.example.com/app:${VERSION}"]
}

target "app-ci" {
  inherits = ["app"]
  args = {
    GOPRIVATE_TOKEN = "${GOPRIVATE_TOKEN}"
  }
  secret = [
    "id=cache_key,env=CACHE_KEY",
  ]
}
