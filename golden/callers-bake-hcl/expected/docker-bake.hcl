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
    VERSION         = VERSION
  }
  secret = ["id=goprivate_token,env=GOPRIVATE_TOKEN"]
  tags = ["registry.example.com/app:${VERSION}"]
}

target "app-ci" {
  inherits = ["app"]
  secret = [
    "id=cache_key,env=CACHE_KEY",
    "id=goprivate_token,env=GOPRIVATE_TOKEN",
  ]
}
