<?php
// A PHP Channel client, byte for byte Workerman's Channel\Client, playing one
// scenario against a channel server. Usage:
//   php channel_peer.php <port> <scenario> <timeout_ms> [args...]
// Publishers write and close without reading (Client.php's sendAnyway mode,
// as a php-fpm publisher does); subscribers print what they receive (see
// channel_lib.php for the output format) and stop after the expected number of
// frames, at EOF, or at the deadline, whichever comes first.
require __DIR__ . '/channel_lib.php';

$port = (int)$argv[1];
$scenario = $argv[2];
$timeout_ms = (int)$argv[3];
$args = array_slice($argv, 4);
$peer = new ChannelPeer($port, $timeout_ms);

function receive_n($peer, $n)
{
    for ($i = 0; $i < $n; $i++) {
        if ($peer->receive() === null) break;
    }
    echo "received $i\n";
}

switch ($scenario) {
    case 'cluster_sub':
        // start_ws.php: Channel\Client::on($worker->id, ...) with the integer
        // worker id 0, then on('broadcast', ...): one subscribe each.
        $worker_id = 0;
        $peer->subscribe($worker_id);
        $peer->subscribe('broadcast');
        echo "ready\n";
        receive_n($peer, (int)$args[0]);
        break;

    case 'cluster_pub':
        $peer->ping();  // Client.php's heartbeat: the server must ignore it
        // start_http.php with ?to_worker_id=0&to_connection_id=1&content=hi:
        // every $_GET value is a string.
        $_GET = array('to_worker_id' => '0', 'to_connection_id' => '1', 'content' => 'hi');
        $peer->publish($_GET['to_worker_id'],
            array('to_connection_id' => $_GET['to_connection_id'], 'content' => $_GET['content']));
        // The spec's example publish (an int connection id) on the broadcast event.
        $peer->publish('broadcast', array('to_connection_id' => 1, 'content' => 'hi'));
        // One publish, several channels: one event per channel that has a
        // subscriber, in the publish's order, carrying the publisher's value.
        $peer->publish(array('broadcast', 'nobody', 0, '007'), array('content' => 'multi'));
        break;

    case 'loop_sub':
        // A subscriber of "jobs"; "ready.<tag>" afterwards lets the test see
        // (by the server's channel count) that its subscribe was processed.
        // It stays until the publisher's final 'END', which goes to every
        // subscriber: leaving earlier would move publishLoop's pointer.
        $peer->subscribe('jobs');
        $peer->subscribe('ready.' . $args[0]);
        for ($i = 0; ($m = $peer->receive()) !== null && $m['data'] !== 'END'; $i++);
        echo "received $i\n";
        break;

    case 'loop_pub':
        for ($i = 0; $i < (int)$args[0]; $i++) $peer->publish('jobs', "job$i", true);
        $peer->publish('jobs', 'END');
        break;

    case 'queue_worker':
        // Client::watch('q', $cb) with autoReserve: watch, reserve at once,
        // and reserve again after every message.
        $peer->watch('q');
        $peer->reserve();
        // Stops after n messages or at the message 'END'.
        $n = (int)$args[0];
        for ($i = 0; $i < $n; $i++) {
            if (($m = $peer->receive()) === null || $m['data'] === 'END') break;
            $peer->reserve();
        }
        echo "received $i\n";
        break;

    case 'queue_pub':
        $peer->enqueue('q', 'job');
        $peer->enqueue('q', array('n' => 2));
        $peer->enqueue(array('q', 'unwatched'), 'job3');
        break;

    case 'queue_corpus_pub':
        // Each value enqueued; "expect" is what Queue.php sends for it.
        foreach (array_merge(corpus_values(), array('END')) as $v) {
            $msg = array('type' => 'enqueue', 'channels' => array('q'), 'data' => $v);
            $peer->enqueue('q', $v);
            $at_server = unserialize(serialize($msg));
            $delivery = serialize(array('type' => 'queue', 'channel' => 'q', 'data' => $at_server['data']));
            echo "expect ", bin2hex(frame_encode($delivery)), "\n";
        }
        break;

    case 'relay_sub':
        // Subscribes to what a relay republishes, until 'END'.
        $peer->subscribe('relay');
        for ($i = 0; ($m = $peer->receive()) !== null && $m['data'] !== 'END'; $i++);
        echo "received $i\n";
        break;

    case 'odd_keys_sub':
        // Channel names that are not int or string: PHP casts them to array
        // keys (false → 0, 2.0 → 2, true → 1, null → "").
        $peer->subscribe(array(false, 2.0, true, null));
        receive_n($peer, (int)$args[0]);
        break;

    case 'odd_keys_pub':
        // 1.5 is the key 1 (PHP truncates a float key), 'x' has no subscriber.
        $peer->publish(array('0', 2, '1', '', 1.5, 'x'), 'odd');
        $peer->publish(array(0.0, -0.0, 2.5, '2.0', ' 1'), 'odd2');
        break;

    case 'corpus_sub':
        $peer->subscribe('corpus');
        $peer->subscribe(7);
        echo "ready\n";
        // Until the publisher's last message, 'END'.
        for ($i = 0; ($m = $peer->receive()) !== null && $m['data'] !== 'END'; $i++);
        echo "received $i\n";
        break;

    case 'corpus_pub':
        // Each value published; "expect" is what Channel\Server sends for it:
        // it unserializes the publish and serializes a new array per channel.
        foreach (corpus_values() as $i => $v) {
            $channels = $i % 2 ? 'corpus' : array('corpus', '7');
            $msg = array('type' => 'publish', 'channels' => (array)$channels, 'data' => $v);
            $peer->publish($channels, $v);
            $at_server = unserialize(serialize($msg));
            echo "data ", bin2hex(serialize($at_server['data'])), "\n";
            foreach ($at_server['channels'] as $channel) {
                $event = serialize(array('type' => 'event', 'channel' => $channel, 'data' => $at_server['data']));
                echo "expect ", bin2hex(frame_encode($event)), "\n";
            }
        }
        $peer->publish('corpus', 'END');
        echo "expect ", bin2hex(frame_encode(serialize(array('type' => 'event', 'channel' => 'corpus', 'data' => 'END')))), "\n";
        break;

    default:
        echo "error unknown scenario $scenario\n";
        exit(2);
}
fclose($peer->sock);
echo "done\n";
