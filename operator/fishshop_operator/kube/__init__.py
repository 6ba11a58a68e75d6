"""The operator's one door to the Kubernetes API, its rules, and the Secrets shops name."""
