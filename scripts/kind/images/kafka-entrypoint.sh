#!/bin/sh
# A KRaft broker configured as the apache/kafka image is: every KAFKA_X_Y variable
# becomes the property x.y (KAFKA_HEAP_OPTS and KAFKA_OPTS stay the JVM's); the storage
# is formatted on first start with CLUSTER_ID.
set -eu
config=/tmp/server.properties
: >"$config"
env | while IFS='=' read -r name value; do
    case "$name" in
        KAFKA_HEAP_OPTS | KAFKA_OPTS | KAFKA_JMX_OPTS | KAFKA_LOG4J_OPTS | KAFKA_VERSION) ;;
        KAFKA_*)
            key="$(echo "${name#KAFKA_}" | tr '[:upper:]' '[:lower:]' | tr _ .)"
            echo "$key=$value" >>"$config"
            ;;
    esac
done
: "${CLUSTER_ID:=5L6g3nShT-eMCtK--X86sw}"
classpath='/opt/kafka/libs/*'
# shellcheck disable=SC2086
java -cp "$classpath" kafka.tools.StorageTool format --ignore-formatted \
    "--cluster-id=$CLUSTER_ID" --config "$config" >/dev/null
# shellcheck disable=SC2086
exec java ${KAFKA_HEAP_OPTS:--Xmx512m} ${KAFKA_OPTS:-} -cp "$classpath" kafka.Kafka "$config"
