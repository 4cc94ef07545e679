#pragma once

namespace torcht1::dicom {

/// Turns Nagle's algorithm off on this process's DICOM sockets: sets TCP_NODELAY=1 in the
/// environment, which DCMTK 3.6.7 reads at every accept and connect (and then sets the socket
/// option), unless the environment already has TCP_NODELAY: then it is left as the user set
/// it (TCP_NODELAY=0 keeps Nagle's algorithm on). With Nagle's algorithm on, each C-STORE
/// waits for a delayed ACK (about 40 ms) when both ends have it on.
///
/// Once per process; StoreServer::start() and StoreClient::send() call it before their
/// first network. setenv() races with getenv() in other threads, so a program with threads
/// of its own calls it first (Node::start() does).
void preferTcpNoDelay();

}  // namespace torcht1::dicom
