<?php
// What PHP's Channel\Server sends for a publish (Server.php: unserialize the
// publish, serialize array(type, channel, data) per channel). Input and output
// are hex. The test compares our event bytes with these.
$buffer = hex2bin($argv[1]);
$data = unserialize($buffer);
foreach ($data['channels'] as $channel) {
    echo bin2hex(serialize(array('type' => 'event', 'channel' => $channel, 'data' => $data['data']))), "\n";
}
