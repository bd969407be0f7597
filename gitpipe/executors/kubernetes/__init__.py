"""The Kubernetes executor: one batch/v1 Job per attempt on a cluster."""
