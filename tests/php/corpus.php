<?php
// Prints serialize() of a corpus of values, one per line, hex-encoded so that
// binary bytes and newlines survive. The codec test round-trips each one.
class Point { public $x = 1; protected $y = 2; private $z = 3; }
$o = new stdClass; $o->a = 1; $o->{'0'} = 'zero';
$shared = new Point;
$arr = [1, 2];
$refs = ['a' => &$arr, 'b' => &$arr];
$values = [
    null, true, false, 0, -1, PHP_INT_MAX, PHP_INT_MIN, 0.1, 1.0, -0.0, 1e25, 1.5e-7, 1e15, 1e17,
    123456789012345680000.0, 0.0001, 0.00001, INF, -INF, NAN, 2.5, -1.25e300,
    "", "hello", "with \"quotes\" and ; and }", "nul\0byte", "\xff\xfe binary", "日本語 unicode",
    [], [1, 2, 3], ['a' => 1, 'b' => [true, null]], [5 => 'x', '007' => 'y', '-7' => 'z', 'k' => [[[]]]],
    $o, $shared, [$shared, $shared], $refs,
    ['type' => 'publish', 'channels' => ['broadcast'], 'data' => ['to_connection_id' => 1, 'content' => 'hi']],
];
foreach ($values as $v) echo bin2hex(serialize($v)), "\n";
