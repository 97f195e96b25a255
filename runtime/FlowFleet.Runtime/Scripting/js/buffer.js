// Node.js's Buffer for function nodes: the common subset, as a Uint8Array subclass (so typed-array methods work).
// Messages carry Buffers as {"type":"Buffer","data":[...]}, which is what toJSON gives.
(function (g) {
  'use strict';
  // C# encode/decode for the hot encodings (ScriptBufferNative); each answers undefined where this file's code must run.
  var native = g.__ffBufferNative;
  delete g.__ffBufferNative;
  function utf8Encode(s) {
    var out = [];
    for (var i = 0; i < s.length; i++) {
      var c = s.charCodeAt(i);
      if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
        var d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d < 0xe000) { c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00); i++; } else { c = 0xfffd; }
      } else if (c >= 0xd800 && c < 0xe000) { c = 0xfffd; }
      if (c < 0x80) { out.push(c); }
      else if (c < 0x800) { out.push(0xc0 | (c >> 6), 0x80 | (c & 63)); }
      else if (c < 0x10000) { out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63)); }
      else { out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63)); }
    }
    return out;
  }
  function utf8Decode(b, start, end) {
    var s = '';
    for (var i = start; i < end;) {
      var c = b[i++], n = 0, cp;
      if (c < 0x80) { cp = c; }
      else if (c >= 0xc2 && c < 0xe0) { n = 1; cp = c & 31; }
      else if (c >= 0xe0 && c < 0xf0) { n = 2; cp = c & 15; }
      else if (c >= 0xf0 && c < 0xf5) { n = 3; cp = c & 7; }
      else { s += '\ufffd'; continue; }
      if (i + n > end) { s += '\ufffd'; break; }
      var ok = true;
      for (var k = 0; k < n; k++) { var x = b[i + k]; if ((x & 0xc0) !== 0x80) { ok = false; break; } cp = (cp << 6) | (x & 63); }
      if (!ok) { s += '\ufffd'; continue; }
      i += n;
      s += String.fromCodePoint(cp);
    }
    return s;
  }
  var B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  function b64Encode(b, start, end) {
    var s = '';
    for (var i = start; i < end; i += 3) {
      var n = (b[i] << 16) | ((i + 1 < end ? b[i + 1] : 0) << 8) | (i + 2 < end ? b[i + 2] : 0);
      s += B64[(n >> 18) & 63] + B64[(n >> 12) & 63] + (i + 1 < end ? B64[(n >> 6) & 63] : '=') + (i + 2 < end ? B64[n & 63] : '=');
    }
    return s;
  }
  function b64Decode(s) {
    var out = [], bits = 0, acc = 0;
    for (var i = 0; i < s.length; i++) {
      var ch = s[i] === '-' ? '+' : s[i] === '_' ? '/' : s[i];
      var v = B64.indexOf(ch);
      if (v < 0) { continue; }
      acc = (acc << 6) | v; bits += 6;
      if (bits >= 8) { bits -= 8; out.push((acc >> bits) & 255); }
    }
    return out;
  }
  function bytesOf(value, enc) {
    enc = (enc || 'utf8').toLowerCase();
    if (native && typeof value === 'string') { var fast = native.encode(value, enc); if (fast !== undefined) { return fast; } }
    if (enc === 'hex') {
      var h = [];
      for (var i = 0; i + 1 < value.length; i += 2) { var n = parseInt(value.substr(i, 2), 16); if (isNaN(n)) { break; } h.push(n); }
      return h;
    }
    if (enc === 'base64' || enc === 'base64url') { return b64Decode(value); }
    if (enc === 'ascii' || enc === 'latin1' || enc === 'binary') {
      var a = [];
      for (var j = 0; j < value.length; j++) { a.push(value.charCodeAt(j) & 255); }
      return a;
    }
    if (enc === 'utf8' || enc === 'utf-8') { return utf8Encode(value); }
    throw new TypeError('Unknown encoding: ' + enc);
  }
  class Buffer extends Uint8Array {
    static from(value, encOrOffset, length) {
      if (typeof value === 'string') { var bytes = bytesOf(value, encOrOffset); return bytes instanceof Uint8Array ? new Buffer(bytes.buffer) : new Buffer(bytes); }
      if (value instanceof ArrayBuffer) { return new Buffer(value, encOrOffset || 0, length === undefined ? value.byteLength - (encOrOffset || 0) : length); }
      if (value && value.type === 'Buffer' && Array.isArray(value.data)) { return new Buffer(value.data); }
      if (value && (Array.isArray(value) || ArrayBuffer.isView(value) || typeof value.length === 'number')) { return new Buffer(Array.from(value, function (x) { return x & 255; })); }
      throw new TypeError('The first argument must be of type string, Buffer, ArrayBuffer, Array, or Array-like Object.');
    }
    static alloc(size, fill) { var b = new Buffer(size); if (fill !== undefined) { b.fill(typeof fill === 'string' ? fill.charCodeAt(0) : fill); } return b; }
    static allocUnsafe(size) { return new Buffer(size); }
    static isBuffer(b) { return b instanceof Buffer; }
    static isEncoding(e) { return ['utf8', 'utf-8', 'hex', 'base64', 'base64url', 'ascii', 'latin1', 'binary'].indexOf(String(e).toLowerCase()) >= 0; }
    static byteLength(s, enc) { return typeof s === 'string' ? bytesOf(s, enc).length : s.length; }
    static concat(list, total) {
      if (total === undefined) { total = 0; for (var i = 0; i < list.length; i++) { total += list[i].length; } }
      var out = Buffer.alloc(total), at = 0;
      for (var j = 0; j < list.length && at < total; j++) { var part = list[j].subarray(0, total - at); out.set(part, at); at += part.length; }
      return out;
    }
    static compare(a, b) { return a.compare(b); }
    toString(enc, start, end) {
      start = start === undefined ? 0 : Math.max(0, start); end = end === undefined ? this.length : Math.min(this.length, end);
      enc = (enc || 'utf8').toLowerCase();
      if (native && Number.isInteger(start) && Number.isInteger(end)) { var fast = native.decode(this, enc, start, end); if (fast !== undefined) { return fast; } }
      if (enc === 'hex') { var s = ''; for (var i = start; i < end; i++) { s += (this[i] < 16 ? '0' : '') + this[i].toString(16); } return s; }
      if (enc === 'base64') { return b64Encode(this, start, end); }
      if (enc === 'base64url') { return b64Encode(this, start, end).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''); }
      if (enc === 'ascii' || enc === 'latin1' || enc === 'binary') { var t = ''; for (var j = start; j < end; j++) { t += String.fromCharCode(enc === 'ascii' ? this[j] & 127 : this[j]); } return t; }
      if (enc === 'utf8' || enc === 'utf-8') { return utf8Decode(this, start, end); }
      throw new TypeError('Unknown encoding: ' + enc);
    }
    toJSON() { return { type: 'Buffer', data: Array.from(this) }; }
    slice(start, end) { return this.subarray(start, end); }
    equals(other) { return this.compare(other) === 0; }
    compare(other) {
      var n = Math.min(this.length, other.length);
      for (var i = 0; i < n; i++) { if (this[i] !== other[i]) { return this[i] < other[i] ? -1 : 1; } }
      return this.length === other.length ? 0 : this.length < other.length ? -1 : 1;
    }
    write(s, offset, enc) { var b = bytesOf(s, enc); offset = offset || 0; var n = Math.min(b.length, this.length - offset); for (var i = 0; i < n; i++) { this[offset + i] = b[i]; } return n; }
    includes(v, from, enc) { return this.indexOf(v, from, enc) !== -1; }
    indexOf(v, from, enc) {
      if (typeof v === 'number') { return Uint8Array.prototype.indexOf.call(this, v, from); }
      var needle = typeof v === 'string' ? bytesOf(v, enc) : v;
      for (var i = from || 0; i + needle.length <= this.length; i++) {
        var k = 0; while (k < needle.length && this[i + k] === needle[k]) { k++; }
        if (k === needle.length) { return i; }
      }
      return -1;
    }
    view() { return new DataView(this.buffer, this.byteOffset, this.byteLength); }
    check(offset, size) { if (offset < 0 || offset + size > this.length) { throw new RangeError('The value of "offset" is out of range.'); } return offset; }
  }
  var readers = { UInt8: ['getUint8', 1], Int8: ['getInt8', 1], UInt16: ['getUint16', 2], Int16: ['getInt16', 2], UInt32: ['getUint32', 4], Int32: ['getInt32', 4], Float: ['getFloat32', 4], Double: ['getFloat64', 8] };
  Object.keys(readers).forEach(function (name) {
    var get = readers[name][0], size = readers[name][1], set = 's' + get.substr(1);
    var variants = size === 1 ? [['', false]] : [['BE', false], ['LE', true]];
    variants.forEach(function (v) {
      Buffer.prototype['read' + name + v[0]] = function (offset) { offset = offset || 0; return this.view()[get](this.check(offset, size), v[1]); };
      Buffer.prototype['write' + name + v[0]] = function (value, offset) { offset = offset || 0; this.view()[set](this.check(offset, size), value, v[1]); return offset + size; };
      if (name.indexOf('UInt') === 0) {
        Buffer.prototype['readUint' + name.substr(4) + v[0]] = Buffer.prototype['read' + name + v[0]];
        Buffer.prototype['writeUint' + name.substr(4) + v[0]] = Buffer.prototype['write' + name + v[0]];
      }
    });
  });
  Object.defineProperty(g, 'Buffer', { value: Buffer, writable: true, configurable: true });
})(globalThis);
