# sonde in a container, in node_exporter's style: FROM scratch and one
# statically linked binary, built beforehand (scripts/build-image.sh does
# both). Run it so that it reads the host, not the container:
#
#   docker run -d --name sonde --net=host --pid=host \
#     -v /:/host:ro,rslave \
#     sonde --proc-root /host/proc --sys-root /host/sys \
#           --etc-root /host/etc --rootfs /host
#
# --net=host: /proc/net/dev describes the network namespace of the reader,
# so the host's interfaces need the host's namespace. --pid=host: process
# ids as the host sees them. For wss://, mount a volume for the pair and
# pass --tls --tls-dir /tls (scratch has no writable home).
FROM scratch
ARG BINARY=target/x86_64-unknown-linux-gnu/release/sonde
COPY ${BINARY} /bin/sonde
# nobody:nogroup: sonde needs no privilege to read /proc and /sys.
USER 65534:65534
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=5s CMD ["/bin/sonde", "healthcheck"]
ENTRYPOINT ["/bin/sonde"]
