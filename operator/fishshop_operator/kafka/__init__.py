"""The operator's Kafka: a shop's topics and queues, the shared clients, TLS in memory."""
