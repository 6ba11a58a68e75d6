#!/bin/sh
# Kafka's tools by the names of their scripts: connect-distributed.sh,
# kafka-console-consumer.sh, kafka-topics.sh.
set -eu
case "$(basename "$0")" in
    connect-distributed.sh) main=org.apache.kafka.connect.cli.ConnectDistributed ;;
    kafka-console-consumer.sh) main=org.apache.kafka.tools.consumer.ConsoleConsumer ;;
    kafka-topics.sh) main=org.apache.kafka.tools.TopicCommand ;;
    *) echo "unknown tool $0" >&2; exit 2 ;;
esac
# shellcheck disable=SC2086
exec java ${KAFKA_HEAP_OPTS:--Xmx512m} ${KAFKA_OPTS:-} -cp '/opt/kafka/libs/*' "$main" "$@"
