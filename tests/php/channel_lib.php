<?php
// Workerman Channel's client side (Client.php) and Frame protocol over plain
// blocking stream sockets: every message is built exactly as Client.php builds
// it, serialize(array('type'=>T,'channels'=>(array)C[,'data'=>D])) framed with
// pack('N', 4 + strlen($body)). Every wait is bounded by a deadline.
// Output is line based so the C++ test can read it while it pumps its loop:
//   sent <hex frame>        a frame this peer wrote
//   frame <hex frame>       a frame this peer received (header included)
//   value <type> <channel> <data>   what unserialize() made of it (var_export)
//   reparse ok|differs      serialize(unserialize($body)) === $body
//   data <hex>              serialize() of the message's data, on its own
//   php-error <message>     any PHP warning or notice (unserialize failures)

error_reporting(E_ALL);
set_error_handler(function ($no, $str) {
    if (!(error_reporting() & $no)) return true;  // silenced with @
    echo "php-error ", $str, "\n";
    return true;
});

function frame_encode($body)
{
    return pack('N', 4 + strlen($body)) . $body;
}

function one_line($v)
{
    // var_export() warns on (and drops) circular references: fine for a view.
    return str_replace("\n", ' ', @var_export($v, true));
}

// Splits complete frames off the front of $buf (Frame::input/decode).
function frame_take(&$buf)
{
    if (strlen($buf) < 4) return null;
    $len = unpack('N', $buf)[1];
    if ($len < 4) return false;  // the original would hang; a test wants to know
    if (strlen($buf) < $len) return null;
    $body = substr($buf, 4, $len - 4);
    $buf = (string)substr($buf, $len);
    return $body;
}

class ChannelPeer
{
    public $sock;
    public $buf = '';
    public $deadline;

    public function __construct($port, $timeout_ms)
    {
        $this->deadline = microtime(true) + $timeout_ms / 1000;
        $this->sock = stream_socket_client("tcp://127.0.0.1:$port", $errno, $errstr, 5);
        if (!$this->sock) {
            echo "error connect $errstr\n";
            exit(2);
        }
    }

    public function send(array $msg)
    {
        $frame = frame_encode(serialize($msg));
        fwrite($this->sock, $frame);
        echo "sent ", bin2hex($frame), "\n";
    }

    // The Client.php API, message for message.
    public function subscribe($events) { $this->send(array('type' => 'subscribe', 'channels' => (array)$events)); }
    public function unsubscribe($events) { $this->send(array('type' => 'unsubscribe', 'channels' => (array)$events)); }
    public function publish($events, $data, $is_loop = false)
    {
        $type = $is_loop ? 'publishLoop' : 'publish';
        $this->send(array('type' => $type, 'channels' => (array)$events, 'data' => $data));
    }
    public function watch($channels) { $this->send(array('type' => 'watch', 'channels' => (array)$channels)); }
    public function unwatch($channels) { $this->send(array('type' => 'unwatch', 'channels' => (array)$channels)); }
    public function enqueue($channels, $data) { $this->send(array('type' => 'enqueue', 'channels' => (array)$channels, 'data' => $data)); }
    public function reserve() { $this->send(array('type' => 'reserve')); }
    public function ping() { fwrite($this->sock, pack('N', 4)); }

    // The next frame's body, or null at the deadline or EOF.
    public function read_frame()
    {
        for (;;) {
            $body = frame_take($this->buf);
            if ($body === false) {
                echo "error bad header\n";
                return null;
            }
            if ($body !== null) return $body;
            $left = $this->deadline - microtime(true);
            if ($left <= 0) {
                echo "timeout\n";
                return null;
            }
            $r = array($this->sock);
            $w = $e = null;
            if (!stream_select($r, $w, $e, (int)$left, (int)(($left - (int)$left) * 1e6))) continue;
            $chunk = fread($this->sock, 65536);
            if ($chunk === '' || $chunk === false) {
                echo "eof\n";
                return null;
            }
            $this->buf .= $chunk;
        }
    }

    // Reads one frame and reports it; returns the unserialized message or null.
    public function receive()
    {
        $body = $this->read_frame();
        if ($body === null) return null;
        echo "frame ", bin2hex(frame_encode($body)), "\n";
        $msg = unserialize($body);
        if (!is_array($msg)) {
            echo "error unserialize\n";
            return null;
        }
        echo "value ", one_line($msg['type']), " ", one_line($msg['channel']), " ", one_line($msg['data']), "\n";
        echo "reparse ", serialize($msg) === $body ? 'ok' : 'differs', "\n";
        echo "data ", bin2hex(serialize($msg['data'])), "\n";
        return $msg;
    }
}

// Values for the round-trip corpus: every kind serialize() writes.
class Point { public $x = 1; protected $y = 2; private $z = 3; }
class Node { public $name; public $next; public $self; }

function corpus_values()
{
    $o = new stdClass;
    $o->a = 1;
    $o->{'0'} = 'zero';
    $p = new Point;
    $arr = array(1, 2);
    $refs = array('a' => &$arr, 'b' => &$arr);
    $n1 = new Node; $n2 = new Node;
    $n1->name = 'n1'; $n1->next = $n2; $n1->self = $n1;
    $n2->name = 'n2'; $n2->next = $n1;
    $x = 'shared';
    $mixed = array('p' => $p, 'again' => $p, 'ref1' => &$x, 'ref2' => &$x, 'list' => array($p, &$x));
    $incomplete = unserialize('O:11:"NotLoadedAA":2:{s:1:"a";i:1;s:1:"b";O:8:"stdClass":0:{}}');
    $bin = '';
    for ($i = 0; $i < 256; $i++) $bin .= chr($i);
    return array(
        null, true, false, 0, -1, 42, PHP_INT_MAX, PHP_INT_MIN,
        0.1, 1.0, -0.0, 1e25, 1.5e-7, 1e15, 1e17, 0.30000000000000004, 2.5, -1.25e300, 5e-324,
        INF, -INF, NAN,
        '', 'hello', "with \"quotes\" and ; and } and \n newline", "nul\0byte", $bin,
        '日本語 unicode 🎉 émoji', "\xff\xfe not utf8",
        array(), array(1, 2, 3), array('a' => 1, 'b' => array(true, null)),
        array(5 => 'x', '007' => 'y', '-7' => 'z', 'k' => array(array(array()))),
        array(PHP_INT_MIN => 'min', PHP_INT_MAX => 'max', -1 => 'neg'),
        array('to_connection_id' => '1', 'content' => 'hi'),
        array('deep' => array('a' => array('b' => array('c' => array('d' => array(1.5, 'e')))))),
        $o, $p, array($p, $p), $refs, $n1, $mixed, $incomplete,
        array('nested_obj' => array($o, $o, array('again' => $o))),
        // 200 KiB: split over many reads and writes on every hop.
        array('big' => str_repeat($bin, 800), 'again' => $p, 'p' => $p),
        // Back-references make a server re-encode everything around them.
        array('floats' => array(0.1, 1.0, -0.0, 1e25, 1.5e-7, 1e15, 1e17, 0.30000000000000004, 5e-324,
                                -1.25e300, INF, -INF, NAN),
              'p' => $p, 'p2' => $p, 'bin' => $bin, 'min' => PHP_INT_MIN, 'max' => PHP_INT_MAX,
              'u' => '日本語 🎉', 'o' => $o, 'inc' => $incomplete, 't' => true, 'f' => false, 'n' => null,
              'keys' => array(PHP_INT_MIN => 1, '007' => 2, '-7' => 3, '' => 4)),
    );
}
