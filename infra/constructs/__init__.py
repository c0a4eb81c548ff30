"""One construct per concern: storage, pipeline, api and ingress."""
