"""The fishshop operator: reconciles FishShop resources into Kafka topics and worker pods.

It may import the workers' shared modules (topics, shop specs); the workers never
import it. Its import name is not ``operator``, which would shadow the standard
library's module. Its design: docs/design/operator.md.
"""
