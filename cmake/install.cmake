# Install rules for what is not a build target: the config file, the systemd
# units, the sysusers.d and tmpfiles.d entries and the man pages.
#
# Paths follow GNUInstallDirs. Note CMAKE_INSTALL_FULL_SYSCONFDIR: for
# CMAKE_INSTALL_PREFIX=/usr it is /etc (not /usr/etc), which is what a
# distribution package wants; for /usr/local it stays /usr/local/etc.

# Where systemd looks for units, users and tmpfiles: ask systemd.pc (Debian
# 12: package "systemd"). Its answers are absolute and ignore our prefix on
# purpose (Debian 12 puts units in /lib/systemd/system). Without systemd.pc,
# fall back to the prefix; each can be overridden on the command line.
pkg_get_variable(_cb_unitdir systemd systemdsystemunitdir)
pkg_get_variable(_cb_sysusersdir systemd sysusersdir)
pkg_get_variable(_cb_tmpfilesdir systemd tmpfilesdir)
if(NOT _cb_unitdir)
  set(_cb_unitdir ${CMAKE_INSTALL_PREFIX}/lib/systemd/system)
endif()
if(NOT _cb_sysusersdir)
  set(_cb_sysusersdir ${CMAKE_INSTALL_PREFIX}/lib/sysusers.d)
endif()
if(NOT _cb_tmpfilesdir)
  set(_cb_tmpfilesdir ${CMAKE_INSTALL_PREFIX}/lib/tmpfiles.d)
endif()
set(COAPBRIDGE_SYSTEMD_UNITDIR ${_cb_unitdir} CACHE PATH
  "Directory for coapbridge.service and coapbridge.socket")
set(COAPBRIDGE_SYSUSERSDIR ${_cb_sysusersdir} CACHE PATH
  "Directory for the sysusers.d file creating the coapbridge user")
set(COAPBRIDGE_TMPFILESDIR ${_cb_tmpfilesdir} CACHE PATH
  "Directory for the tmpfiles.d file setting /etc/coapbridge permissions")

set(COAPBRIDGE_CONFDIR ${CMAKE_INSTALL_FULL_SYSCONFDIR}/coapbridge)

# The files in systemd/ name the packaged paths (/usr/sbin, /etc/coapbridge)
# so they can be read and verified as they are; for another prefix the
# installed copies name the paths of this install instead.
function(_cb_install_with_paths src dest rename)
  file(READ ${PROJECT_SOURCE_DIR}/${src} text)
  string(REPLACE "/usr/sbin/coapbridge" "${CMAKE_INSTALL_FULL_SBINDIR}/coapbridge"
    text "${text}")
  string(REPLACE "/etc/coapbridge" "${COAPBRIDGE_CONFDIR}" text "${text}")
  get_filename_component(name ${src} NAME)
  set(out ${PROJECT_BINARY_DIR}/install/${name})
  file(GENERATE OUTPUT ${out} CONTENT "${text}")
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
    ${PROJECT_SOURCE_DIR}/${src})
  install(FILES ${out} DESTINATION ${dest} RENAME ${rename})
endfunction()

_cb_install_with_paths(systemd/coapbridge.service ${COAPBRIDGE_SYSTEMD_UNITDIR}
  coapbridge.service)
_cb_install_with_paths(systemd/coapbridge.socket ${COAPBRIDGE_SYSTEMD_UNITDIR}
  coapbridge.socket)
_cb_install_with_paths(systemd/coapbridge.sysusers ${COAPBRIDGE_SYSUSERSDIR}
  coapbridge.conf)
_cb_install_with_paths(systemd/coapbridge.tmpfiles ${COAPBRIDGE_TMPFILESDIR}
  coapbridge.conf)

# The config holds no secret itself (the MQTT password lives in
# mqtt.password_file), so it is world-readable like most of /etc; the
# directory's group and mode come from the tmpfiles.d entry, because the
# coapbridge group does not exist at build time.
install(FILES ${PROJECT_SOURCE_DIR}/conf/coapbridge.conf
  DESTINATION ${COAPBRIDGE_CONFDIR})

install(FILES ${PROJECT_SOURCE_DIR}/man/coapbridge.8
  DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES ${PROJECT_SOURCE_DIR}/man/coapbridge.conf.5
  DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
install(FILES ${PROJECT_SOURCE_DIR}/man/coapbridge-client.1
  ${PROJECT_SOURCE_DIR}/man/coapbridge-plugtest-server.1
  DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
