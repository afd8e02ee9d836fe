#!/bin/bash
#
# Test fixture: sourced by boot.sh, in the shape of Arm's model-scripts/aemfvp-a-rme/run_model.sh.
# It checks the model and the firmware, creates the log files and sets `cmd` to the model's
# command line, one `-C name=value \` per line.

# Check for env MODEL
if [ ! -e "$MODEL" ]; then
	echo "ERROR: you should set variable MODEL to point to a valid FVP model binary."
	echo "Current MODEL value is \"$MODEL\""
	exit 1
fi

if [ ! -e "$BL1" ]; then
	echo "ERROR: you should set variable BL1 to point to a valid BL1 binary, currently it is set to \"$BL1\""
	exit 1
fi
if [ ! -e "$FIP" ]; then
	echo "ERROR: you should set variable FIP to point to a valid FIP binary, currently it is set to \"$FIP\""
	exit 1
fi

# Create log files: one per run, with uartN.log and model.log pointing at the latest.
LOG_DIR=logs/$platform
mkdir -p ./$LOG_DIR
datestamp=`date +%s%N`

UART0_LOG=uart0-${datestamp}.log
uart0log=uart0.log
touch $LOG_DIR/$UART0_LOG
rm -f $LOG_DIR/$uart0log
ln -s $UART0_LOG $LOG_DIR/$uart0log

UART1_LOG=uart1-${datestamp}.log
uart1log=uart1.log
touch $LOG_DIR/$UART1_LOG
rm -f $LOG_DIR/$uart1log
ln -s $UART1_LOG $LOG_DIR/$uart1log

UART2_LOG=uart2-${datestamp}.log
uart2log=uart2.log
touch $LOG_DIR/$UART2_LOG
rm -f $LOG_DIR/$uart2log
ln -s $UART2_LOG $LOG_DIR/$uart2log

UART3_LOG=uart3-${datestamp}.log
uart3log=uart3.log
touch $LOG_DIR/$UART3_LOG
rm -f $LOG_DIR/$uart3log
ln -s $UART3_LOG $LOG_DIR/$uart3log

MODEL_LOG=model-${datestamp}.log
modellog=model.log
touch $LOG_DIR/$MODEL_LOG
rm -f $LOG_DIR/$modellog
ln -s $MODEL_LOG $LOG_DIR/$modellog

cmd="${MODEL} \
	-C bp.refcounter.non_arch_start_at_default=1 \
	-C bp.refcounter.use_real_time=0 \
	-C bp.ve_sysregs.exit_on_shutdown=1 \
	-C cache_state_modelled=0 \
	-C bp.dram_metadata.is_enabled=1 \
	-C bp.dram_size=4 \
	-C bp.secure_memory=1 \
	-C cluster0.NUM_CORES=4 \
	-C cluster0.PA_SIZE=48 \
	-C cluster0.ecv_support_level=2 \
	-C cluster0.gicv3.cpuintf-mmap-access-level=2 \
	-C cluster0.gicv3.without-DS-support=1 \
	-C cluster0.gicv4.mask-virtual-interrupt=1 \
	-C cluster0.has_arm_v8-6=1 \
	-C cluster0.has_branch_target_exception=1 \
	-C cluster0.rme_support_level=2 \
	-C cluster0.has_rndr=1 \
	-C cluster0.max_32bit_el=0 \
	-C cluster0.stage12_tlb_size=1024 \
	-C cluster0.memory_tagging_support_level=2 \
	-C cluster1.NUM_CORES=4 \
	-C cluster1.PA_SIZE=48 \
	-C cluster1.ecv_support_level=2 \
	-C cluster1.gicv3.cpuintf-mmap-access-level=2 \
	-C cluster1.gicv3.without-DS-support=1 \
	-C cluster1.gicv4.mask-virtual-interrupt=1 \
	-C cluster1.has_arm_v8-6=1 \
	-C cluster1.has_branch_target_exception=1 \
	-C cluster1.rme_support_level=2 \
	-C cluster1.has_rndr=1 \
	-C cluster1.max_32bit_el=0 \
	-C cluster1.stage12_tlb_size=1024 \
	-C cluster1.memory_tagging_support_level=2 \
	-C pci.pci_smmuv3.mmu.SMMU_AIDR=2 \
	-C pci.pci_smmuv3.mmu.SMMU_IDR0=0x0046123B \
	-C pci.pci_smmuv3.mmu.SMMU_IDR1=0x00600002 \
	-C pci.pci_smmuv3.mmu.SMMU_IDR3=0x1714 \
	-C pci.pci_smmuv3.mmu.SMMU_IDR5=0xFFFF0475 \
	-C pci.pci_smmuv3.mmu.SMMU_S_IDR1=0xA0000002 \
	-C pci.pci_smmuv3.mmu.SMMU_S_IDR2=0 \
	-C pci.pci_smmuv3.mmu.SMMU_S_IDR3=0 \
	-C pci.pci_smmuv3.mmu.SMMU_ROOT_IDR0=3 \
	-C pci.pci_smmuv3.mmu.SMMU_ROOT_IIDR=0x43B \
	-C pci.pci_smmuv3.mmu.root_register_page_offset=0x20000 \
	-C pctl.startup=0.0.0.0 \
	-C bp.smsc_91c111.enabled=1 \
	-C bp.has_rme=1 \
	-C gic_distributor.ARE-fixed-to-one=1 \
	-C gic_distributor.extended-ppi-count=64 \
	-C gic_distributor.extended-spi-count=1024 \
	-C bp.pl011_uart0.out_file=$LOG_DIR/$uart0log \
	-C bp.pl011_uart1.out_file=$LOG_DIR/$uart1log \
	-C bp.pl011_uart2.out_file=$LOG_DIR/$uart2log \
	-C bp.pl011_uart3.out_file=$LOG_DIR/$uart3log \
	-C bp.pl011_uart0.unbuffered_output=1 \
	-C bp.pl011_uart1.unbuffered_output=1 \
	-C bp.pl011_uart2.unbuffered_output=1 \
	-C bp.pl011_uart3.unbuffered_output=1 \
	-C bp.secureflashloader.fname=$BL1 \
	-C bp.flashloader0.fname=$FIP \
	-C bp.hostbridge.userNetworking=1 \
	-C bp.hostbridge.userNetPorts=8022=22 \
	-C bp.virtioblockdevice.image_path=$FS \
	--data cluster0.cpu0=$IMAGE@0x84000000 \
	--stat \
	-R"
