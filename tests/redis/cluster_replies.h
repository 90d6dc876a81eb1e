// Real replies of redis-server 7.0.15, captured in RESP2 from a local cluster of
// three masters (127.0.0.1:7301..7303) with one replica each (7304..7306), made
// with redis-cli --cluster create ... --cluster-replicas 1. Node ids are that
// cluster's. One RESP line per source string, so the structure stays readable.
#pragma once

namespace pusher::redis::testdata {

// clang-format off

// CLUSTER SHARDS asked of 7302 (ip endpoints; 7301 and 7306 announce hostnames).
constexpr char kShardsHealthy[] =
    "*3\r\n" "*4\r\n" "$5\r\n" "slots\r\n" "*2\r\n" ":10923\r\n" ":16383\r\n" "$5\r\n" "nodes\r\n"
    "*2\r\n" "*14\r\n" "$2\r\n" "id\r\n" "$40\r\n" "74ac49f553cb0a849639318689f0e4610c0a95ba\r\n"
    "$4\r\n" "port\r\n" ":7303\r\n" "$2\r\n" "ip\r\n" "$9\r\n" "127.0.0.1\r\n" "$8\r\n"
    "endpoint\r\n" "$9\r\n" "127.0.0.1\r\n" "$4\r\n" "role\r\n" "$6\r\n" "master\r\n" "$18\r\n"
    "replication-offset\r\n" ":14\r\n" "$6\r\n" "health\r\n" "$6\r\n" "online\r\n" "*14\r\n"
    "$2\r\n" "id\r\n" "$40\r\n" "35a47366f73fc1c6eebcaf03c3b5fffd9cdaa94c\r\n" "$4\r\n" "port\r\n"
    ":7304\r\n" "$2\r\n" "ip\r\n" "$9\r\n" "127.0.0.1\r\n" "$8\r\n" "endpoint\r\n" "$9\r\n"
    "127.0.0.1\r\n" "$4\r\n" "role\r\n" "$7\r\n" "replica\r\n" "$18\r\n" "replication-offset\r\n"
    ":14\r\n" "$6\r\n" "health\r\n" "$6\r\n" "online\r\n" "*4\r\n" "$5\r\n" "slots\r\n" "*2\r\n"
    ":5461\r\n" ":10922\r\n" "$5\r\n" "nodes\r\n" "*2\r\n" "*14\r\n" "$2\r\n" "id\r\n" "$40\r\n"
    "feecc2dc1938edd208625a2a3adb9caab06973ff\r\n" "$4\r\n" "port\r\n" ":7302\r\n" "$2\r\n"
    "ip\r\n" "$9\r\n" "127.0.0.1\r\n" "$8\r\n" "endpoint\r\n" "$9\r\n" "127.0.0.1\r\n" "$4\r\n"
    "role\r\n" "$6\r\n" "master\r\n" "$18\r\n" "replication-offset\r\n" ":14\r\n" "$6\r\n"
    "health\r\n" "$6\r\n" "online\r\n" "*16\r\n" "$2\r\n" "id\r\n" "$40\r\n"
    "b89261fdfd262171055649626592842b9328c50a\r\n" "$4\r\n" "port\r\n" ":7306\r\n" "$2\r\n"
    "ip\r\n" "$9\r\n" "127.0.0.1\r\n" "$8\r\n" "endpoint\r\n" "$9\r\n" "127.0.0.1\r\n" "$8\r\n"
    "hostname\r\n" "$14\r\n" "node-f.example\r\n" "$4\r\n" "role\r\n" "$7\r\n" "replica\r\n"
    "$18\r\n" "replication-offset\r\n" ":14\r\n" "$6\r\n" "health\r\n" "$6\r\n" "online\r\n"
    "*4\r\n" "$5\r\n" "slots\r\n" "*2\r\n" ":0\r\n" ":5460\r\n" "$5\r\n" "nodes\r\n" "*2\r\n"
    "*16\r\n" "$2\r\n" "id\r\n" "$40\r\n" "19596480b0a84409edf2da44f916f40076249707\r\n" "$4\r\n"
    "port\r\n" ":7301\r\n" "$2\r\n" "ip\r\n" "$9\r\n" "127.0.0.1\r\n" "$8\r\n" "endpoint\r\n"
    "$9\r\n" "127.0.0.1\r\n" "$8\r\n" "hostname\r\n" "$14\r\n" "node-a.example\r\n" "$4\r\n"
    "role\r\n" "$6\r\n" "master\r\n" "$18\r\n" "replication-offset\r\n" ":14\r\n" "$6\r\n"
    "health\r\n" "$6\r\n" "online\r\n" "*14\r\n" "$2\r\n" "id\r\n" "$40\r\n"
    "3594878fedd2410b1c7b43160f41c2261548fc83\r\n" "$4\r\n" "port\r\n" ":7305\r\n" "$2\r\n"
    "ip\r\n" "$9\r\n" "127.0.0.1\r\n" "$8\r\n" "endpoint\r\n" "$9\r\n" "127.0.0.1\r\n" "$4\r\n"
    "role\r\n" "$7\r\n" "replica\r\n" "$18\r\n" "replication-offset\r\n" ":14\r\n" "$6\r\n"
    "health\r\n" "$6\r\n" "online\r\n";

// CLUSTER SHARDS asked of 7303 after CONFIG SET cluster-preferred-endpoint-type hostname:
// endpoint is the hostname, or "?" for nodes without one.
constexpr char kShardsPreferHostname[] =
    "*3\r\n" "*4\r\n" "$5\r\n" "slots\r\n" "*2\r\n" ":5461\r\n" ":10922\r\n" "$5\r\n" "nodes\r\n"
    "*2\r\n" "*14\r\n" "$2\r\n" "id\r\n" "$40\r\n" "feecc2dc1938edd208625a2a3adb9caab06973ff\r\n"
    "$4\r\n" "port\r\n" ":7302\r\n" "$2\r\n" "ip\r\n" "$9\r\n" "127.0.0.1\r\n" "$8\r\n"
    "endpoint\r\n" "$1\r\n" "?\r\n" "$4\r\n" "role\r\n" "$6\r\n" "master\r\n" "$18\r\n"
    "replication-offset\r\n" ":28\r\n" "$6\r\n" "health\r\n" "$6\r\n" "online\r\n" "*16\r\n"
    "$2\r\n" "id\r\n" "$40\r\n" "b89261fdfd262171055649626592842b9328c50a\r\n" "$4\r\n" "port\r\n"
    ":7306\r\n" "$2\r\n" "ip\r\n" "$9\r\n" "127.0.0.1\r\n" "$8\r\n" "endpoint\r\n" "$14\r\n"
    "node-f.example\r\n" "$8\r\n" "hostname\r\n" "$14\r\n" "node-f.example\r\n" "$4\r\n"
    "role\r\n" "$7\r\n" "replica\r\n" "$18\r\n" "replication-offset\r\n" ":28\r\n" "$6\r\n"
    "health\r\n" "$6\r\n" "online\r\n" "*4\r\n" "$5\r\n" "slots\r\n" "*2\r\n" ":0\r\n" ":5460\r\n"
    "$5\r\n" "nodes\r\n" "*2\r\n" "*16\r\n" "$2\r\n" "id\r\n" "$40\r\n"
    "19596480b0a84409edf2da44f916f40076249707\r\n" "$4\r\n" "port\r\n" ":7301\r\n" "$2\r\n"
    "ip\r\n" "$9\r\n" "127.0.0.1\r\n" "$8\r\n" "endpoint\r\n" "$14\r\n" "node-a.example\r\n"
    "$8\r\n" "hostname\r\n" "$14\r\n" "node-a.example\r\n" "$4\r\n" "role\r\n" "$6\r\n"
    "master\r\n" "$18\r\n" "replication-offset\r\n" ":28\r\n" "$6\r\n" "health\r\n" "$6\r\n"
    "online\r\n" "*14\r\n" "$2\r\n" "id\r\n" "$40\r\n"
    "3594878fedd2410b1c7b43160f41c2261548fc83\r\n" "$4\r\n" "port\r\n" ":7305\r\n" "$2\r\n"
    "ip\r\n" "$9\r\n" "127.0.0.1\r\n" "$8\r\n" "endpoint\r\n" "$1\r\n" "?\r\n" "$4\r\n" "role\r\n"
    "$7\r\n" "replica\r\n" "$18\r\n" "replication-offset\r\n" ":28\r\n" "$6\r\n" "health\r\n"
    "$6\r\n" "online\r\n" "*4\r\n" "$5\r\n" "slots\r\n" "*2\r\n" ":10923\r\n" ":16383\r\n"
    "$5\r\n" "nodes\r\n" "*2\r\n" "*14\r\n" "$2\r\n" "id\r\n" "$40\r\n"
    "74ac49f553cb0a849639318689f0e4610c0a95ba\r\n" "$4\r\n" "port\r\n" ":7303\r\n" "$2\r\n"
    "ip\r\n" "$9\r\n" "127.0.0.1\r\n" "$8\r\n" "endpoint\r\n" "$1\r\n" "?\r\n" "$4\r\n" "role\r\n"
    "$6\r\n" "master\r\n" "$18\r\n" "replication-offset\r\n" ":28\r\n" "$6\r\n" "health\r\n"
    "$6\r\n" "online\r\n" "*14\r\n" "$2\r\n" "id\r\n" "$40\r\n"
    "35a47366f73fc1c6eebcaf03c3b5fffd9cdaa94c\r\n" "$4\r\n" "port\r\n" ":7304\r\n" "$2\r\n"
    "ip\r\n" "$9\r\n" "127.0.0.1\r\n" "$8\r\n" "endpoint\r\n" "$1\r\n" "?\r\n" "$4\r\n" "role\r\n"
    "$7\r\n" "replica\r\n" "$18\r\n" "replication-offset\r\n" ":28\r\n" "$6\r\n" "health\r\n"
    "$6\r\n" "online\r\n";

// CLUSTER SHARDS asked of 7301 after 7302 was killed and its replica 7306 took over:
// 7302 stays listed, alone, as a master with health "fail" and no slots.
constexpr char kShardsAfterFailover[] =
    "*4\r\n" "*4\r\n" "$5\r\n" "slots\r\n" "*2\r\n" ":10923\r\n" ":16383\r\n" "$5\r\n" "nodes\r\n"
    "*2\r\n" "*14\r\n" "$2\r\n" "id\r\n" "$40\r\n" "74ac49f553cb0a849639318689f0e4610c0a95ba\r\n"
    "$4\r\n" "port\r\n" ":7303\r\n" "$2\r\n" "ip\r\n" "$9\r\n" "127.0.0.1\r\n" "$8\r\n"
    "endpoint\r\n" "$9\r\n" "127.0.0.1\r\n" "$4\r\n" "role\r\n" "$6\r\n" "master\r\n" "$18\r\n"
    "replication-offset\r\n" ":42\r\n" "$6\r\n" "health\r\n" "$6\r\n" "online\r\n" "*14\r\n"
    "$2\r\n" "id\r\n" "$40\r\n" "35a47366f73fc1c6eebcaf03c3b5fffd9cdaa94c\r\n" "$4\r\n" "port\r\n"
    ":7304\r\n" "$2\r\n" "ip\r\n" "$9\r\n" "127.0.0.1\r\n" "$8\r\n" "endpoint\r\n" "$9\r\n"
    "127.0.0.1\r\n" "$4\r\n" "role\r\n" "$7\r\n" "replica\r\n" "$18\r\n" "replication-offset\r\n"
    ":42\r\n" "$6\r\n" "health\r\n" "$6\r\n" "online\r\n" "*4\r\n" "$5\r\n" "slots\r\n" "*2\r\n"
    ":0\r\n" ":5460\r\n" "$5\r\n" "nodes\r\n" "*2\r\n" "*16\r\n" "$2\r\n" "id\r\n" "$40\r\n"
    "19596480b0a84409edf2da44f916f40076249707\r\n" "$4\r\n" "port\r\n" ":7301\r\n" "$2\r\n"
    "ip\r\n" "$9\r\n" "127.0.0.1\r\n" "$8\r\n" "endpoint\r\n" "$9\r\n" "127.0.0.1\r\n" "$8\r\n"
    "hostname\r\n" "$14\r\n" "node-a.example\r\n" "$4\r\n" "role\r\n" "$6\r\n" "master\r\n"
    "$18\r\n" "replication-offset\r\n" ":42\r\n" "$6\r\n" "health\r\n" "$6\r\n" "online\r\n"
    "*14\r\n" "$2\r\n" "id\r\n" "$40\r\n" "3594878fedd2410b1c7b43160f41c2261548fc83\r\n" "$4\r\n"
    "port\r\n" ":7305\r\n" "$2\r\n" "ip\r\n" "$9\r\n" "127.0.0.1\r\n" "$8\r\n" "endpoint\r\n"
    "$9\r\n" "127.0.0.1\r\n" "$4\r\n" "role\r\n" "$7\r\n" "replica\r\n" "$18\r\n"
    "replication-offset\r\n" ":42\r\n" "$6\r\n" "health\r\n" "$6\r\n" "online\r\n" "*4\r\n"
    "$5\r\n" "slots\r\n" "*0\r\n" "$5\r\n" "nodes\r\n" "*1\r\n" "*14\r\n" "$2\r\n" "id\r\n"
    "$40\r\n" "feecc2dc1938edd208625a2a3adb9caab06973ff\r\n" "$4\r\n" "port\r\n" ":7302\r\n"
    "$2\r\n" "ip\r\n" "$9\r\n" "127.0.0.1\r\n" "$8\r\n" "endpoint\r\n" "$9\r\n" "127.0.0.1\r\n"
    "$4\r\n" "role\r\n" "$6\r\n" "master\r\n" "$18\r\n" "replication-offset\r\n" ":28\r\n"
    "$6\r\n" "health\r\n" "$4\r\n" "fail\r\n" "*4\r\n" "$5\r\n" "slots\r\n" "*2\r\n" ":5461\r\n"
    ":10922\r\n" "$5\r\n" "nodes\r\n" "*1\r\n" "*16\r\n" "$2\r\n" "id\r\n" "$40\r\n"
    "b89261fdfd262171055649626592842b9328c50a\r\n" "$4\r\n" "port\r\n" ":7306\r\n" "$2\r\n"
    "ip\r\n" "$9\r\n" "127.0.0.1\r\n" "$8\r\n" "endpoint\r\n" "$9\r\n" "127.0.0.1\r\n" "$8\r\n"
    "hostname\r\n" "$14\r\n" "node-f.example\r\n" "$4\r\n" "role\r\n" "$6\r\n" "master\r\n"
    "$18\r\n" "replication-offset\r\n" ":28\r\n" "$6\r\n" "health\r\n" "$6\r\n" "online\r\n";

// CLUSTER SHARDS asked of 7301 after 7306 (no replica left) was killed too:
// slots 5461-10922 have no healthy master (cluster_state:fail).
constexpr char kShardsMasterLost[] =
    "*4\r\n" "*4\r\n" "$5\r\n" "slots\r\n" "*2\r\n" ":10923\r\n" ":16383\r\n" "$5\r\n" "nodes\r\n"
    "*2\r\n" "*14\r\n" "$2\r\n" "id\r\n" "$40\r\n" "74ac49f553cb0a849639318689f0e4610c0a95ba\r\n"
    "$4\r\n" "port\r\n" ":7303\r\n" "$2\r\n" "ip\r\n" "$9\r\n" "127.0.0.1\r\n" "$8\r\n"
    "endpoint\r\n" "$9\r\n" "127.0.0.1\r\n" "$4\r\n" "role\r\n" "$6\r\n" "master\r\n" "$18\r\n"
    "replication-offset\r\n" ":42\r\n" "$6\r\n" "health\r\n" "$6\r\n" "online\r\n" "*14\r\n"
    "$2\r\n" "id\r\n" "$40\r\n" "35a47366f73fc1c6eebcaf03c3b5fffd9cdaa94c\r\n" "$4\r\n" "port\r\n"
    ":7304\r\n" "$2\r\n" "ip\r\n" "$9\r\n" "127.0.0.1\r\n" "$8\r\n" "endpoint\r\n" "$9\r\n"
    "127.0.0.1\r\n" "$4\r\n" "role\r\n" "$7\r\n" "replica\r\n" "$18\r\n" "replication-offset\r\n"
    ":42\r\n" "$6\r\n" "health\r\n" "$6\r\n" "online\r\n" "*4\r\n" "$5\r\n" "slots\r\n" "*2\r\n"
    ":0\r\n" ":5460\r\n" "$5\r\n" "nodes\r\n" "*2\r\n" "*16\r\n" "$2\r\n" "id\r\n" "$40\r\n"
    "19596480b0a84409edf2da44f916f40076249707\r\n" "$4\r\n" "port\r\n" ":7301\r\n" "$2\r\n"
    "ip\r\n" "$9\r\n" "127.0.0.1\r\n" "$8\r\n" "endpoint\r\n" "$9\r\n" "127.0.0.1\r\n" "$8\r\n"
    "hostname\r\n" "$14\r\n" "node-a.example\r\n" "$4\r\n" "role\r\n" "$6\r\n" "master\r\n"
    "$18\r\n" "replication-offset\r\n" ":42\r\n" "$6\r\n" "health\r\n" "$6\r\n" "online\r\n"
    "*14\r\n" "$2\r\n" "id\r\n" "$40\r\n" "3594878fedd2410b1c7b43160f41c2261548fc83\r\n" "$4\r\n"
    "port\r\n" ":7305\r\n" "$2\r\n" "ip\r\n" "$9\r\n" "127.0.0.1\r\n" "$8\r\n" "endpoint\r\n"
    "$9\r\n" "127.0.0.1\r\n" "$4\r\n" "role\r\n" "$7\r\n" "replica\r\n" "$18\r\n"
    "replication-offset\r\n" ":42\r\n" "$6\r\n" "health\r\n" "$6\r\n" "online\r\n" "*4\r\n"
    "$5\r\n" "slots\r\n" "*0\r\n" "$5\r\n" "nodes\r\n" "*1\r\n" "*14\r\n" "$2\r\n" "id\r\n"
    "$40\r\n" "feecc2dc1938edd208625a2a3adb9caab06973ff\r\n" "$4\r\n" "port\r\n" ":7302\r\n"
    "$2\r\n" "ip\r\n" "$9\r\n" "127.0.0.1\r\n" "$8\r\n" "endpoint\r\n" "$9\r\n" "127.0.0.1\r\n"
    "$4\r\n" "role\r\n" "$6\r\n" "master\r\n" "$18\r\n" "replication-offset\r\n" ":28\r\n"
    "$6\r\n" "health\r\n" "$4\r\n" "fail\r\n" "*4\r\n" "$5\r\n" "slots\r\n" "*2\r\n" ":5461\r\n"
    ":10922\r\n" "$5\r\n" "nodes\r\n" "*1\r\n" "*16\r\n" "$2\r\n" "id\r\n" "$40\r\n"
    "b89261fdfd262171055649626592842b9328c50a\r\n" "$4\r\n" "port\r\n" ":7306\r\n" "$2\r\n"
    "ip\r\n" "$9\r\n" "127.0.0.1\r\n" "$8\r\n" "endpoint\r\n" "$9\r\n" "127.0.0.1\r\n" "$8\r\n"
    "hostname\r\n" "$14\r\n" "node-f.example\r\n" "$4\r\n" "role\r\n" "$6\r\n" "master\r\n"
    "$18\r\n" "replication-offset\r\n" ":28\r\n" "$6\r\n" "health\r\n" "$4\r\n" "fail\r\n";

// CLUSTER SLOTS asked of 7302, same cluster as kShardsHealthy (hostnames as metadata).
constexpr char kSlotsHealthy[] =
    "*3\r\n" "*4\r\n" ":0\r\n" ":5460\r\n" "*4\r\n" "$9\r\n" "127.0.0.1\r\n" ":7301\r\n" "$40\r\n"
    "19596480b0a84409edf2da44f916f40076249707\r\n" "*2\r\n" "$8\r\n" "hostname\r\n" "$14\r\n"
    "node-a.example\r\n" "*4\r\n" "$9\r\n" "127.0.0.1\r\n" ":7305\r\n" "$40\r\n"
    "3594878fedd2410b1c7b43160f41c2261548fc83\r\n" "*0\r\n" "*4\r\n" ":5461\r\n" ":10922\r\n"
    "*4\r\n" "$9\r\n" "127.0.0.1\r\n" ":7302\r\n" "$40\r\n"
    "feecc2dc1938edd208625a2a3adb9caab06973ff\r\n" "*0\r\n" "*4\r\n" "$9\r\n" "127.0.0.1\r\n"
    ":7306\r\n" "$40\r\n" "b89261fdfd262171055649626592842b9328c50a\r\n" "*2\r\n" "$8\r\n"
    "hostname\r\n" "$14\r\n" "node-f.example\r\n" "*4\r\n" ":10923\r\n" ":16383\r\n" "*4\r\n"
    "$9\r\n" "127.0.0.1\r\n" ":7303\r\n" "$40\r\n" "74ac49f553cb0a849639318689f0e4610c0a95ba\r\n"
    "*0\r\n" "*4\r\n" "$9\r\n" "127.0.0.1\r\n" ":7304\r\n" "$40\r\n"
    "35a47366f73fc1c6eebcaf03c3b5fffd9cdaa94c\r\n" "*0\r\n";

// CLUSTER SLOTS asked of 7303, hostnames preferred: endpoint "?" plus metadata ip.
constexpr char kSlotsPreferHostname[] =
    "*3\r\n" "*4\r\n" ":0\r\n" ":5460\r\n" "*4\r\n" "$14\r\n" "node-a.example\r\n" ":7301\r\n"
    "$40\r\n" "19596480b0a84409edf2da44f916f40076249707\r\n" "*2\r\n" "$2\r\n" "ip\r\n" "$9\r\n"
    "127.0.0.1\r\n" "*4\r\n" "$1\r\n" "?\r\n" ":7305\r\n" "$40\r\n"
    "3594878fedd2410b1c7b43160f41c2261548fc83\r\n" "*2\r\n" "$2\r\n" "ip\r\n" "$9\r\n"
    "127.0.0.1\r\n" "*4\r\n" ":5461\r\n" ":10922\r\n" "*4\r\n" "$1\r\n" "?\r\n" ":7302\r\n"
    "$40\r\n" "feecc2dc1938edd208625a2a3adb9caab06973ff\r\n" "*2\r\n" "$2\r\n" "ip\r\n" "$9\r\n"
    "127.0.0.1\r\n" "*4\r\n" "$14\r\n" "node-f.example\r\n" ":7306\r\n" "$40\r\n"
    "b89261fdfd262171055649626592842b9328c50a\r\n" "*2\r\n" "$2\r\n" "ip\r\n" "$9\r\n"
    "127.0.0.1\r\n" "*4\r\n" ":10923\r\n" ":16383\r\n" "*4\r\n" "$1\r\n" "?\r\n" ":7303\r\n"
    "$40\r\n" "74ac49f553cb0a849639318689f0e4610c0a95ba\r\n" "*2\r\n" "$2\r\n" "ip\r\n" "$9\r\n"
    "127.0.0.1\r\n" "*4\r\n" "$1\r\n" "?\r\n" ":7304\r\n" "$40\r\n"
    "35a47366f73fc1c6eebcaf03c3b5fffd9cdaa94c\r\n" "*2\r\n" "$2\r\n" "ip\r\n" "$9\r\n"
    "127.0.0.1\r\n";

// CLUSTER SLOTS asked of 7301 after the failover. Byte for byte the same after 7306 died
// too: SLOTS says nothing about health.
constexpr char kSlotsAfterFailover[] =
    "*3\r\n" "*4\r\n" ":0\r\n" ":5460\r\n" "*4\r\n" "$9\r\n" "127.0.0.1\r\n" ":7301\r\n" "$40\r\n"
    "19596480b0a84409edf2da44f916f40076249707\r\n" "*2\r\n" "$8\r\n" "hostname\r\n" "$14\r\n"
    "node-a.example\r\n" "*4\r\n" "$9\r\n" "127.0.0.1\r\n" ":7305\r\n" "$40\r\n"
    "3594878fedd2410b1c7b43160f41c2261548fc83\r\n" "*0\r\n" "*3\r\n" ":5461\r\n" ":10922\r\n"
    "*4\r\n" "$9\r\n" "127.0.0.1\r\n" ":7306\r\n" "$40\r\n"
    "b89261fdfd262171055649626592842b9328c50a\r\n" "*2\r\n" "$8\r\n" "hostname\r\n" "$14\r\n"
    "node-f.example\r\n" "*4\r\n" ":10923\r\n" ":16383\r\n" "*4\r\n" "$9\r\n" "127.0.0.1\r\n"
    ":7303\r\n" "$40\r\n" "74ac49f553cb0a849639318689f0e4610c0a95ba\r\n" "*0\r\n" "*4\r\n"
    "$9\r\n" "127.0.0.1\r\n" ":7304\r\n" "$40\r\n" "35a47366f73fc1c6eebcaf03c3b5fffd9cdaa94c\r\n"
    "*0\r\n";

// What a server without cluster mode answers to either command.
constexpr char kClusterDisabled[] = "-ERR This instance has cluster support disabled\r\n";
// clang-format on

}  // namespace pusher::redis::testdata
