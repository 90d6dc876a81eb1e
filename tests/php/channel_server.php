<?php
// A minimal Workerman Channel\Server (Server.php + Queue.php logic) on plain
// stream sockets and stream_select, for testing our client against PHP.
// Usage: php channel_server.php <port> [--lf] [--max-seconds=N]
//   --lf   append "\n" after every event body, as Channel servers up to v1.2.1 did.
// Prints "listening <port>" once bound, then "op <type> <channels>" after it has
// handled each message. Stops at EOF on stdin (the test went away), on
// SIGTERM/SIGKILL, or after max-seconds (default 30): never runs unbounded.
require __DIR__ . '/channel_lib.php';

$port = (int)$argv[1];
$lf = in_array('--lf', $argv, true);
$max_seconds = 30;
foreach ($argv as $a) {
    if (strncmp($a, '--max-seconds=', 14) === 0) $max_seconds = (int)substr($a, 14);
}

class Conn
{
    public static $idRecorder = 1;  // TcpConnection::$idRecorder
    public $id, $sock, $buf = '';
    public $channels = array();
    public $watchs = array();
    public function __construct($sock) { $this->sock = $sock; $this->id = self::$idRecorder++; }
    public function send($body) { @fwrite($this->sock, frame_encode($body)); }
}

class Queue
{
    public $name;
    public $watcher = array();
    public $consumers = array();
    public $queue;
    public function __construct($name) { $this->name = $name; $this->queue = new SplQueue(); }
    public function addWatch($c) { $this->watcher[$c->id] = $c; $c->watchs[$this->name] = $this->name; }
    public function removeWatch($c)
    {
        unset($c->watchs[$this->name], $this->watcher[$c->id], $this->consumers[$c->id]);
    }
    public function addConsumer($c)
    {
        if (!isset($this->consumers[$c->id])) $this->consumers[$c->id] = $c;
        $this->dispatch();
    }
    public function enqueue($data) { $this->queue->enqueue($data); $this->dispatch(); }
    public function isEmpty() { return empty($this->watcher) && $this->queue->isEmpty(); }
    private function dispatch()
    {
        while (!$this->queue->isEmpty() && $this->consumers) {
            $c = reset($this->consumers);
            unset($this->consumers[$c->id]);
            // Queue messages never had the "\n".
            $c->send(serialize(array('type' => 'queue', 'channel' => $this->name, 'data' => $this->queue->dequeue())));
        }
    }
}

class Server
{
    public $channels = array();
    public $queues = array();
    public $lf;

    private function queue($channel)
    {
        if (!isset($this->queues[$channel])) $this->queues[$channel] = new Queue($channel);
        return $this->queues[$channel];
    }

    public function onMessage($connection, $data)
    {
        if (!$data) return;  // ping
        $data = unserialize($data);
        $type = $data['type'];
        $eol = $this->lf ? "\n" : '';
        switch ($type) {
            case 'subscribe':
                foreach ($data['channels'] as $channel) {
                    $connection->channels[$channel] = $channel;
                    $this->channels[$channel][$connection->id] = $connection;
                }
                break;
            case 'unsubscribe':
                foreach ($data['channels'] as $channel) {
                    unset($connection->channels[$channel]);
                    if (isset($this->channels[$channel][$connection->id])) {
                        unset($this->channels[$channel][$connection->id]);
                        if (empty($this->channels[$channel])) unset($this->channels[$channel]);
                    }
                }
                break;
            case 'publish':
                foreach ($data['channels'] as $channel) {
                    if (empty($this->channels[$channel])) continue;
                    $buffer = serialize(array('type' => 'event', 'channel' => $channel, 'data' => $data['data'])) . $eol;
                    foreach ($this->channels[$channel] as $c) $c->send($buffer);
                }
                break;
            case 'publishLoop':
                foreach ($data['channels'] as $channel) {
                    if (empty($this->channels[$channel])) continue;
                    $buffer = serialize(array('type' => 'event', 'channel' => $channel, 'data' => $data['data'])) . $eol;
                    // The array's internal pointer: next(), wrapping with reset().
                    $c = next($this->channels[$channel]);
                    if ($c == false) $c = reset($this->channels[$channel]);
                    $c->send($buffer);
                }
                break;
            case 'watch':
                foreach ($data['channels'] as $channel) $this->queue($channel)->addWatch($connection);
                break;
            case 'unwatch':
                foreach ($data['channels'] as $channel) {
                    if (!isset($this->queues[$channel])) continue;
                    $this->queues[$channel]->removeWatch($connection);
                    if ($this->queues[$channel]->isEmpty()) unset($this->queues[$channel]);
                }
                break;
            case 'enqueue':
                foreach ($data['channels'] as $channel) $this->queue($channel)->enqueue($data['data']);
                break;
            case 'reserve':
                foreach ($connection->watchs as $channel) {
                    if (isset($this->queues[$channel])) $this->queues[$channel]->addConsumer($connection);
                }
                break;
        }
        echo "op ", $type, " ", one_line(isset($data['channels']) ? $data['channels'] : null), "\n";
    }

    public function onClose($connection)
    {
        foreach ($connection->channels as $channel) {
            unset($this->channels[$channel][$connection->id]);
            if (empty($this->channels[$channel])) unset($this->channels[$channel]);
        }
        foreach ($connection->watchs as $channel) {
            if (!isset($this->queues[$channel])) continue;
            $this->queues[$channel]->removeWatch($connection);
            if ($this->queues[$channel]->isEmpty()) unset($this->queues[$channel]);
        }
        echo "close ", $connection->id, "\n";
    }
}

$ctx = stream_context_create(array('socket' => array('so_reuseaddr' => true)));
$listen = stream_socket_server("tcp://127.0.0.1:$port", $errno, $errstr,
    STREAM_SERVER_BIND | STREAM_SERVER_LISTEN, $ctx);
if (!$listen) {
    echo "error listen $errstr\n";
    exit(2);
}
$name = stream_socket_get_name($listen, false);
echo "listening ", substr($name, strrpos($name, ':') + 1), "\n";

$server = new Server();
$server->lf = $lf;
$conns = array();
$deadline = microtime(true) + $max_seconds;
while (microtime(true) < $deadline) {
    $r = array($listen, STDIN);
    foreach ($conns as $c) $r[] = $c->sock;
    $w = $e = null;
    if (!stream_select($r, $w, $e, 0, 200000)) continue;
    foreach ($r as $s) {
        if ($s === STDIN) {
            if (fread(STDIN, 4096) === '' && feof(STDIN)) exit(0);
            continue;
        }
        if ($s === $listen) {
            $sock = stream_socket_accept($listen, 0);
            if ($sock) {
                $c = new Conn($sock);
                $conns[$c->id] = $c;
                echo "accept ", $c->id, "\n";
            }
            continue;
        }
        foreach ($conns as $c) {
            if ($c->sock !== $s) continue;
            $chunk = fread($s, 65536);
            if ($chunk === '' || $chunk === false) {
                unset($conns[$c->id]);
                fclose($s);
                $server->onClose($c);
                break;
            }
            $c->buf .= $chunk;
            while (is_string($body = frame_take($c->buf))) $server->onMessage($c, $body);
            break;
        }
    }
}
echo "max-seconds reached\n";
