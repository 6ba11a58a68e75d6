"""fishshop: a fish-and-chip shop on Apache Kafka, run by a Kubernetes operator."""
