'''dbusmock template for FlowFleet's BlueZ tests: on top of the bluez5 template, AddShelly() adds a device whose
advertisement carries Shelly's company 0x0BA9 data and whose GATT RPC service (data, tx_ctl, rx_ctl) answers JSON-RPC
frames with Shelly's framing: length to tx_ctl (big-endian), request to data, length on rx_ctl (read or notify), answer
read from data in 20-byte chunks.'''

import json
import struct

import dbus

from dbusmock import OBJECT_MANAGER_IFACE, mockobject

BUS_NAME = 'org.bluez'
MAIN_OBJ = '/'
SYSTEM_BUS = True

BLUEZ_MOCK_IFACE = 'org.bluez.Mock'
DEVICE_IFACE = 'org.bluez.Device1'
SERVICE_IFACE = 'org.bluez.GattService1'
CHAR_IFACE = 'org.bluez.GattCharacteristic1'
RPC_SERVICE = '5f6d4f53-5f52-5043-5f53-56435f49445f'
DATA = '5f6d4f53-5f52-5043-5f64-6174615f5f5f'
TX_CTL = '5f6d4f53-5f52-5043-5f74-785f63746c5f'
RX_CTL = '5f6d4f53-5f52-5043-5f72-785f63746c5f'
CHUNK = 20


def load(_mock, _parameters):
    pass


def _device(char):
    service = str(char.props[CHAR_IFACE]['Service'])
    return mockobject.objects[service.rsplit('/', 1)[0]]


def _answer(state, request):
    try:
        frame = json.loads(request.decode('utf-8'))
    except ValueError:
        return {'id': None, 'error': {'code': -32700, 'message': 'Parse error'}}
    method = frame.get('method', '')
    state['calls'].append(method)
    reply = {'id': frame.get('id'), 'src': state['id']}
    if method == 'Shelly.GetDeviceInfo':
        reply['result'] = {'id': state['id'], 'mac': state['mac'], 'model': 'SNSW-001P16EU', 'gen': 2, 'app': 'Plus1PM'}
    elif method == 'Test.Echo':
        reply['result'] = frame.get('params')
    else:
        reply['error'] = {'code': 404, 'message': 'No handler for ' + method}
    return reply


@dbus.service.method(CHAR_IFACE, in_signature='a{sv}', out_signature='ay')
def ReadValue(char, _options):
    state = _device(char).shelly
    uuid = char.props[CHAR_IFACE]['UUID']
    if uuid == RX_CTL:
        ready = state['answer'] is not None and state['offset'] == 0
        return dbus.Array(struct.pack('>I', len(state['answer']) if ready else 0), signature='y')
    if uuid == DATA:
        if state['answer'] is None:
            return dbus.Array([], signature='y')
        part = state['answer'][state['offset']:state['offset'] + CHUNK]
        state['offset'] += len(part)
        if state['offset'] >= len(state['answer']):
            state['answer'] = None
        return dbus.Array(part, signature='y')
    raise dbus.exceptions.DBusException('Read not permitted', name='org.bluez.Error.NotPermitted')


@dbus.service.method(CHAR_IFACE, in_signature='aya{sv}', out_signature='')
def WriteValue(char, value, _options):
    state = _device(char).shelly
    uuid = char.props[CHAR_IFACE]['UUID']
    data = bytes(value)
    if uuid == TX_CTL:
        state['expected'] = struct.unpack('>I', data)[0]
        state['incoming'] = bytearray()
        state['answer'] = None
        return
    if uuid != DATA:
        raise dbus.exceptions.DBusException('Write not permitted', name='org.bluez.Error.NotPermitted')
    state['incoming'] += data
    state['writes'] += 1
    if len(state['incoming']) < state['expected']:
        return
    state['answer'] = json.dumps(_answer(state, bytes(state['incoming']))).encode('utf-8')
    state['offset'] = 0
    rx = mockobject.objects[state['rx']]
    if rx.props[CHAR_IFACE]['Notifying']:
        value = dbus.Array(struct.pack('>I', len(state['answer'])), signature='y', variant_level=1)
        rx.props[CHAR_IFACE]['Value'] = value
        rx.EmitSignal(dbus.PROPERTIES_IFACE, 'PropertiesChanged', 'sa{sv}as', [CHAR_IFACE, {'Value': value}, []])


def _set_notifying(char, on):
    char.props[CHAR_IFACE]['Notifying'] = dbus.Boolean(on, variant_level=1)
    char.EmitSignal(dbus.PROPERTIES_IFACE, 'PropertiesChanged', 'sa{sv}as', [CHAR_IFACE, {'Notifying': dbus.Boolean(on, variant_level=1)}, []])


@dbus.service.method(CHAR_IFACE, in_signature='', out_signature='')
def StartNotify(char):
    _set_notifying(char, True)


@dbus.service.method(CHAR_IFACE, in_signature='', out_signature='')
def StopNotify(char):
    _set_notifying(char, False)


@dbus.service.method(BLUEZ_MOCK_IFACE, in_signature='sssn', out_signature='s')
def AddShelly(self, adapter, address, name, rssi):
    '''A Shelly in range: Device1 with its advertisement (name, RSSI, 0x0BA9 data) and the GATT RPC service.'''
    path = self.AddDevice(adapter, address, name)
    dev = mockobject.objects[path]
    mac = name.rsplit('-', 1)[1].upper()
    blocks = bytes([0x01, 0x05, 0x00, 0x0b, 0x01, 0x10, 0x0a]) + bytes.fromhex(mac)[::-1]
    mfr = dbus.Dictionary({dbus.UInt16(0x0BA9): dbus.Array(blocks, signature='y', variant_level=1)}, signature='qv', variant_level=1)
    dev.props[DEVICE_IFACE]['ManufacturerData'] = mfr
    dev.props[DEVICE_IFACE]['RSSI'] = dbus.Int16(rssi, variant_level=1)
    dev.shelly = {'expected': 0, 'incoming': bytearray(), 'answer': None, 'offset': 0, 'calls': [], 'writes': 0,
                  'id': name.lower(), 'mac': mac}
    manager = mockobject.objects['/']
    service = path + '/service0010'
    service_props = {
        'UUID': dbus.String(RPC_SERVICE, variant_level=1),
        'Device': dbus.ObjectPath(path, variant_level=1),
        'Primary': dbus.Boolean(True, variant_level=1),
    }
    self.AddObject(service, SERVICE_IFACE, service_props, [])
    manager.EmitSignal(OBJECT_MANAGER_IFACE, 'InterfacesAdded', 'oa{sa{sv}}', [dbus.ObjectPath(service), {SERVICE_IFACE: service_props}])
    for i, (uuid, flags) in enumerate([(DATA, ['read', 'write']), (TX_CTL, ['write']), (RX_CTL, ['read', 'notify', 'indicate'])]):
        char_path = f'{service}/char{0x11 + i:04x}'
        props = {
            'UUID': dbus.String(uuid, variant_level=1),
            'Service': dbus.ObjectPath(service, variant_level=1),
            'Flags': dbus.Array(flags, signature='s', variant_level=1),
            'Value': dbus.Array([], signature='y', variant_level=1),
            'Notifying': dbus.Boolean(False, variant_level=1),
        }
        self.AddObject(char_path, CHAR_IFACE, props, [
            ('ReadValue', 'a{sv}', 'ay', ReadValue),
            ('WriteValue', 'aya{sv}', '', WriteValue),
            ('StartNotify', '', '', StartNotify),
            ('StopNotify', '', '', StopNotify),
        ])
        manager.EmitSignal(OBJECT_MANAGER_IFACE, 'InterfacesAdded', 'oa{sa{sv}}', [dbus.ObjectPath(char_path), {CHAR_IFACE: props}])
        if uuid == RX_CTL:
            dev.shelly['rx'] = char_path
    # The advertisement as BlueZ reports it during discovery: RSSI and manufacturer data change on the device.
    dev.EmitSignal(dbus.PROPERTIES_IFACE, 'PropertiesChanged', 'sa{sv}as', [DEVICE_IFACE, {'RSSI': dbus.Int16(rssi, variant_level=1), 'ManufacturerData': mfr}, []])
    return path


@dbus.service.method(BLUEZ_MOCK_IFACE, in_signature='s', out_signature='as')
def ShellyCalls(_self, path):
    '''The methods the device at path received over GATT, in order.'''
    return dbus.Array(mockobject.objects[path].shelly['calls'], signature='s')
